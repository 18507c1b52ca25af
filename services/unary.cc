#include "services/unary.h"

#include "absl/strings/str_cat.h"
#include "services/log.h"

namespace safeguarding::services {

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

grpc::ServerUnaryReactor* NotYetImplemented(const AccessGuard& guard,
                                            grpc::CallbackServerContext* context,
                                            absl::string_view method) {
  return AdmitUnary(
      guard, context, method, [method](grpc::ServerUnaryReactor* reactor, triage::Caller) {
        FinishUnary(reactor, method,
                    absl::UnimplementedError(
                        absl::StrCat(method, " is part of the contract but not built yet")));
      });
}

}  // namespace safeguarding::services
