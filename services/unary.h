// Plumbing shared by every handler: admission (the AccessGuard, then the call budgets), and
// finishing a call exactly once with the mapped status. Unary handlers use a CallReactor;
// any thread (the committer's included) may finish it later; request and response stay
// valid until then.
#ifndef SAFEGUARDING_SERVICES_UNARY_H_
#define SAFEGUARDING_SERVICES_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/call_liveness.h"
#include "services/access_guard.h"
#include "services/call_budget.h"
#include "services/rpc_observer.h"
#include "services/status_mapping.h"
#include "services/worker_pool.h"
#include "triage/caller.h"
#include "triage/rpcs.h"

namespace safeguarding::services {

// The RPC `handler` of `service` (triage::RpcNamed); one the contract lacks is logged as an
// error and refused to every role.
const triage::Rpc& ResolveRpc(absl::string_view service, absl::string_view handler);

// The RPC a handler serves, from the contract's descriptors. `handler` is the handler's
// own `__func__`, which the compiler ties to the generated method it overrides, so no
// handler spells its RPC's name:
//   static const triage::Rpc& kRpc = RpcOf<v1::TriageDesk>(__func__);
template <typename GrpcService>
const triage::Rpc& RpcOf(const char* handler) {
  return ResolveRpc(GrpcService::service_full_name(), handler);
}

// The reactor of every unary call: tells the guard's RpcObserver (if any) the call's code
// and duration once gRPC is done with the call, gives back the call's budget slot (if it
// took one), and marks the call's liveness cancelled when gRPC reports the client gone or
// the deadline passed, so the store drops the call's change unwritten. Deletes itself.
class CallReactor final : public grpc::ServerUnaryReactor {
 public:
  CallReactor(const RpcObserver* observer, const triage::Rpc& rpc, absl::Time deadline)
      : timer_(observer, rpc), liveness_(std::make_shared<common::CallLiveness>(deadline)) {}
  // The code the call is finished with (FinishUnary sets it before finishing).
  void set_code(grpc::StatusCode code) { code_ = code; }
  // Holds a slot of `budgets` for class `c`, taken for `principal`, until the call is done.
  void HoldSlot(CallBudgets* budgets, CallClass c, const std::string& principal) {
    budgets_ = budgets;
    class_ = c;
    if (CallBudgets::CappedPerPrincipal(c)) principal_ = principal;  // intake's: no copy
  }
  const std::shared_ptr<common::CallLiveness>& liveness() const { return liveness_; }

  void OnCancel() override { liveness_->Cancel(); }
  void OnDone() override {
    timer_.Done(code_);
    if (budgets_ != nullptr) budgets_->Release(class_, principal_);
    delete this;
  }

 private:
  const RpcTimer timer_;
  const std::shared_ptr<common::CallLiveness> liveness_;
  CallBudgets* budgets_ = nullptr;
  CallClass class_ = CallClass::kIntake;
  std::string principal_;  // for a budget capped per principal
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

// Maps `status`, logs faults the operator must see (never contents), and finishes.
void FinishUnary(grpc::ServerUnaryReactor* reactor, const triage::Rpc& rpc,
                 const absl::Status& status);

// Moves the value of `result` into `*response` when it is OK, then finishes.
template <typename Response>
void FinishUnary(grpc::ServerUnaryReactor* reactor, const triage::Rpc& rpc,
                 absl::StatusOr<Response> result, Response* response) {
  if (result.ok()) *response = *std::move(result);
  FinishUnary(reactor, rpc, result.status());
}

// The callback that finishes `reactor` with a domain answer for `rpc`.
template <typename Response>
absl::AnyInvocable<void(absl::StatusOr<Response>) &&> ReplyTo(grpc::ServerUnaryReactor* reactor,
                                                              const triage::Rpc& rpc,
                                                              Response* response) {
  return [reactor, &rpc, response](absl::StatusOr<Response> result) {
    FinishUnary(reactor, rpc, std::move(result), response);
  };
}

// As ReplyTo, and first runs `on_ok(value)` when the answer is OK (to count it, say).
template <typename Response, typename OnOk>
absl::AnyInvocable<void(absl::StatusOr<Response>) &&> ReplyTo(grpc::ServerUnaryReactor* reactor,
                                                              const triage::Rpc& rpc,
                                                              Response* response, OnOk on_ok) {
  return [reactor, &rpc, response, on_ok = std::move(on_ok)](absl::StatusOr<Response> result) {
    if (result.ok()) on_ok(*result);
    FinishUnary(reactor, rpc, std::move(result), response);
  };
}

// Runs the guard for `rpc`. Admitted: takes a slot of the call's budget (full: finishes
// RESOURCE_EXHAUSTED) and calls body(reactor, caller), which must finish the reactor (now or
// later). Refused: audits the refusal (naming `report_id`, the report
// the call asked for, if any) and finishes with it.
template <typename Body>
grpc::ServerUnaryReactor* AdmitUnary(const AccessGuard& guard, grpc::CallbackServerContext* context,
                                     const triage::Rpc& rpc, Body&& body,
                                     absl::string_view report_id = "") {
  auto* reactor = new CallReactor(guard.rpc_observer(), rpc, absl::FromChrono(context->deadline()));
  if (context->deadline() <= std::chrono::system_clock::now()) {
    // The client has given up already: do no work for it.
    FinishUnary(reactor, rpc, absl::DeadlineExceededError("deadline passed before start"));
    return reactor;
  }
  guard.Check(
      *context, rpc, report_id,
      [&](triage::Caller caller) {
        // A slot only for a call the guard admitted: failed authentications take none.
        if (CallBudgets* budgets = guard.call_budgets(); budgets != nullptr) {
          const CallClass c = CallBudgets::ClassOf(rpc);
          if (absl::Status slot = budgets->Acquire(c, caller.principal); !slot.ok()) {
            FinishUnary(reactor, rpc, slot);
            return;
          }
          reactor->HoldSlot(budgets, c, caller.principal);
        }
        caller.liveness = reactor->liveness();
        std::forward<Body>(body)(reactor, std::move(caller));
      },
      [reactor, &rpc](absl::Status refusal) { FinishUnary(reactor, rpc, refusal); });
  return reactor;
}

// As AdmitUnary, but the body runs on `pool` (worker_pool.h), off gRPC's threads and at a
// lower CPU priority; if the caller has given up by the time a worker is free, it does not
// run and the call ends CANCELLED.
template <typename Body>
grpc::ServerUnaryReactor* AdmitUnaryOnPool(const AccessGuard& guard, WorkerPool* pool,
                                           grpc::CallbackServerContext* context,
                                           const triage::Rpc& rpc, Body body) {
  return AdmitUnary(guard, context, rpc,
                    [pool, &rpc, body = std::move(body)](grpc::ServerUnaryReactor* reactor,
                                                         triage::Caller caller) mutable {
                      std::shared_ptr<const common::CallLiveness> liveness = caller.liveness;
                      absl::Status queued = pool->Post(
                          std::move(liveness),
                          [body = std::move(body), reactor, caller = std::move(caller)]() mutable {
                            std::move(body)(reactor, std::move(caller));
                          },
                          [reactor, &rpc] {
                            FinishUnary(reactor, rpc,
                                        absl::CancelledError("the call ended before it started"));
                          });
                      if (!queued.ok()) FinishUnary(reactor, rpc, queued);
                    });
}

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_UNARY_H_
