// The single mapping from absl::Status (what the domain and storage return) to
// grpc::Status (what clients see). A google.rpc.BadRequest payload on the absl status
// becomes the standard rich error details (google.rpc.Status in grpc-status-details-bin).
#ifndef SAFEGUARDING_SERVICES_STATUS_MAPPING_H_
#define SAFEGUARDING_SERVICES_STATUS_MAPPING_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace safeguarding::services {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_STATUS_MAPPING_H_
