// The google.rpc.BadRequest a refused request carries, as a client would read it.
#ifndef SAFEGUARDING_TESTS_SUPPORT_BAD_REQUEST_H_
#define SAFEGUARDING_TESTS_SUPPORT_BAD_REQUEST_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "google/rpc/error_details.pb.h"

namespace safeguarding::testing {

// The BadRequest payload of `status`, or nullopt when there is none or it does not parse.
std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status);

// The description of the first violation of `field` in `status`'s BadRequest; empty when
// there is none.
std::string ViolationOf(const absl::Status& status, const std::string& field);

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_BAD_REQUEST_H_
