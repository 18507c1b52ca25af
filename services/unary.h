// Plumbing shared by every unary handler: who the caller is, and finishing a call exactly
// once with the mapped status. Handlers use the context's default reactor, which any thread
// (the committer's included) may finish later; request and response stay valid until then.
#ifndef SAFEGUARDING_SERVICES_UNARY_H_
#define SAFEGUARDING_SERVICES_UNARY_H_

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "triage/caller.h"

namespace safeguarding::services {

triage::Caller CallerFrom(const grpc::CallbackServerContext& context);

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

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_UNARY_H_
