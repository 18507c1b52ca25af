// Plumbing shared by every handler: admission through the AccessGuard, and finishing a call
// exactly once with the mapped status. Unary handlers use the context's default reactor,
// or a MeteredReactor when the guard has an RpcObserver (which then learns each call's
// code and duration); any thread (the committer's included) may finish it later; request
// and response stay valid until then.
#ifndef SAFEGUARDING_SERVICES_UNARY_H_
#define SAFEGUARDING_SERVICES_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/access_guard.h"
#include "services/rpc_observer.h"
#include "services/status_mapping.h"
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

// The reactor of a unary call when the guard has an RpcObserver: tells it the call's code
// and duration once gRPC is done with the call, then deletes itself.
class MeteredReactor final : public grpc::ServerUnaryReactor {
 public:
  MeteredReactor(const RpcObserver* observer, const triage::Rpc& rpc) : timer_(observer, rpc) {}
  // The code the call is finished with (FinishUnary sets it before finishing).
  void set_code(grpc::StatusCode code) { code_ = code; }
  void OnDone() override {
    timer_.Done(code_);
    delete this;
  }

 private:
  const RpcTimer timer_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

// The reactor for a call of `rpc`: metered when the guard has an observer, else the
// context's default one.
inline grpc::ServerUnaryReactor* NewUnaryReactor(const AccessGuard& guard,
                                                 grpc::CallbackServerContext* context,
                                                 const triage::Rpc& rpc) {
  if (guard.rpc_observer() == nullptr) return context->DefaultReactor();
  return new MeteredReactor(guard.rpc_observer(), rpc);
}

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

// Runs the guard for `rpc`. Admitted: calls body(reactor, caller), which must finish
// the reactor (now or later). Refused: audits the refusal (naming `report_id`, the report
// the call asked for, if any) and finishes with it.
template <typename Body>
grpc::ServerUnaryReactor* AdmitUnary(const AccessGuard& guard, grpc::CallbackServerContext* context,
                                     const triage::Rpc& rpc, Body&& body,
                                     absl::string_view report_id = "") {
  grpc::ServerUnaryReactor* reactor = NewUnaryReactor(guard, context, rpc);
  if (context->deadline() <= std::chrono::system_clock::now()) {
    // The client has given up already: do no work for it.
    FinishUnary(reactor, rpc, absl::DeadlineExceededError("deadline passed before start"));
    return reactor;
  }
  guard.Check(
      *context, rpc, report_id,
      [&](triage::Caller caller) { std::forward<Body>(body)(reactor, std::move(caller)); },
      [reactor, &rpc](absl::Status refusal) { FinishUnary(reactor, rpc, refusal); });
  return reactor;
}

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_UNARY_H_
