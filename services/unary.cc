#include "services/unary.h"

#include "services/log.h"
#include "services/status_mapping.h"

namespace safeguarding::services {

triage::Caller CallerFrom(const grpc::CallbackServerContext& context) {
  triage::Caller caller;
  caller.peer = context.peer();
  return caller;
}

void FinishUnary(grpc::ServerUnaryReactor* reactor, absl::string_view method,
                 const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      Log(Severity::kError, "%s failed: %s", method, status.ToString());
      break;
    default:
      break;
  }
  reactor->Finish(ToGrpcStatus(status));
}

}  // namespace safeguarding::services
