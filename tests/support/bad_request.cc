#include "tests/support/bad_request.h"

#include "triage/validation.h"

namespace safeguarding::testing {

std::optional<google::rpc::BadRequest> BadRequestOf(const absl::Status& status) {
  auto payload = status.GetPayload(triage::kBadRequestTypeUrl);
  if (!payload) return std::nullopt;
  google::rpc::BadRequest bad_request;
  if (!bad_request.ParseFromString(std::string(*payload))) return std::nullopt;
  return bad_request;
}

std::string ViolationOf(const absl::Status& status, const std::string& field) {
  const std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  if (!bad_request) return "";
  for (const google::rpc::BadRequest::FieldViolation& v : bad_request->field_violations()) {
    if (v.field() == field) return v.description();
  }
  return "";
}

}  // namespace safeguarding::testing
