// Plumbing shared by every handler: admission through the AccessGuard, and finishing a call
// exactly once with the mapped status. Unary handlers use the context's default reactor,
// which any thread (the committer's included) may finish later; request and response stay
// valid until then.
#ifndef SAFEGUARDING_SERVICES_UNARY_H_
#define SAFEGUARDING_SERVICES_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/access_guard.h"
#include "services/status_mapping.h"
#include "triage/caller.h"

namespace safeguarding::services {

// Maps `status`, logs faults the operator must see (never contents), and finishes.
void FinishUnary(grpc::ServerUnaryReactor* reactor, absl::string_view method,
                 const absl::Status& status);

// Moves the value of `result` into `*response` when it is OK, then finishes.
template <typename Response>
void FinishUnary(grpc::ServerUnaryReactor* reactor, absl::string_view method,
                 absl::StatusOr<Response> result, Response* response) {
  if (result.ok()) *response = *std::move(result);
  FinishUnary(reactor, method, result.status());
}

// Runs the guard for `method`. Admitted: calls body(reactor, caller), which must finish
// the reactor (now or later). Refused: audits the refusal (naming `report_id`, the report
// the call asked for, if any) and finishes with it.
template <typename Body>
grpc::ServerUnaryReactor* AdmitUnary(const AccessGuard& guard, grpc::CallbackServerContext* context,
                                     absl::string_view method, Body&& body,
                                     absl::string_view report_id = "") {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (context->deadline() <= std::chrono::system_clock::now()) {
    // The client has given up already: do no work for it.
    FinishUnary(reactor, method, absl::DeadlineExceededError("deadline passed before start"));
    return reactor;
  }
  guard.Check(
      *context, method, report_id,
      [&](triage::Caller caller) { std::forward<Body>(body)(reactor, std::move(caller)); },
      [reactor, method = std::string(method)](absl::Status refusal) {
        FinishUnary(reactor, method, refusal);
      });
  return reactor;
}

// For RPCs of the contract that a later version implements: admitted callers get
// UNIMPLEMENTED, so the authorisation table already holds for them.
grpc::ServerUnaryReactor* NotYetImplemented(const AccessGuard& guard,
                                            grpc::CallbackServerContext* context,
                                            absl::string_view method);

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_UNARY_H_
