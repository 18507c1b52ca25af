#include "services/unary.h"

#include "absl/strings/str_cat.h"
#include "services/log.h"

namespace safeguarding::services {

const triage::Rpc& ResolveRpc(absl::string_view service, absl::string_view handler) {
  bool known = true;
  const triage::Rpc& rpc = triage::RpcNamed(service, handler, &known);
  if (!known) {
    Log(Severity::kError,
        "%s is not an RPC of the contract (a handler that overrides no generated method?): "
        "every call to it is refused",
        rpc.path());
  }
  return rpc;
}

void FinishUnary(grpc::ServerUnaryReactor* reactor, const triage::Rpc& rpc,
                 const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      Log(Severity::kError, "%s failed: %s", rpc.path(), status.ToString());
      break;
    default:
      break;
  }
  grpc::Status finished = ToGrpcStatus(status);
  if (auto* ours = dynamic_cast<CallReactor*>(reactor)) ours->set_code(finished.error_code());
  reactor->Finish(std::move(finished));
}

}  // namespace safeguarding::services
