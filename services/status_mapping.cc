#include "services/status_mapping.h"

#include <optional>

#include "google/rpc/status.pb.h"

namespace safeguarding::services {
namespace {

// absl and gRPC use the same canonical code numbers; prove it so a cast is safe.
#define SAME_CODE(absl_name, grpc_name)                            \
  static_assert(static_cast<int>(absl::StatusCode::absl_name) ==   \
                    static_cast<int>(grpc::StatusCode::grpc_name), \
                "absl and gRPC status codes differ for " #grpc_name)
SAME_CODE(kOk, OK);
SAME_CODE(kCancelled, CANCELLED);
SAME_CODE(kUnknown, UNKNOWN);
SAME_CODE(kInvalidArgument, INVALID_ARGUMENT);
SAME_CODE(kDeadlineExceeded, DEADLINE_EXCEEDED);
SAME_CODE(kNotFound, NOT_FOUND);
SAME_CODE(kAlreadyExists, ALREADY_EXISTS);
SAME_CODE(kPermissionDenied, PERMISSION_DENIED);
SAME_CODE(kResourceExhausted, RESOURCE_EXHAUSTED);
SAME_CODE(kFailedPrecondition, FAILED_PRECONDITION);
SAME_CODE(kAborted, ABORTED);
SAME_CODE(kOutOfRange, OUT_OF_RANGE);
SAME_CODE(kUnimplemented, UNIMPLEMENTED);
SAME_CODE(kInternal, INTERNAL);
SAME_CODE(kUnavailable, UNAVAILABLE);
SAME_CODE(kDataLoss, DATA_LOSS);
SAME_CODE(kUnauthenticated, UNAUTHENTICATED);
#undef SAME_CODE

// Codes a client can act on keep their message. Everything else (internal faults,
// corruption) gets a generic message: storage paths and internals stay on the server.
bool MessageIsForClients(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnknown:
      return false;
    default:
      return true;
  }
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  if (!MessageIsForClients(status.code())) {
    message = "internal error; the incident has been logged";
  } else if (status.code() == absl::StatusCode::kUnavailable) {
    message = "storage is temporarily unavailable; retry with the same request_id";
  }

  google::rpc::Status details;
  details.set_code(static_cast<int>(status.code()));
  details.set_message(message);
  // Payloads (e.g. google.rpc.BadRequest) go to clients only with client-facing codes.
  if (!MessageIsForClients(status.code())) return grpc::Status(code, message);
  status.ForEachPayload([&](absl::string_view type_url, const absl::Cord& payload) {
    auto* any = details.add_details();
    any->set_type_url(std::string(type_url));
    any->set_value(std::string(payload));
  });
  if (details.details_size() == 0) return grpc::Status(code, message);
  return grpc::Status(code, message, details.SerializeAsString());
}

}  // namespace safeguarding::services
