#include "tests/support/test_credentials.h"

#include <stdexcept>

#include "services/credentials.h"
#include "triage/access_policy.h"

namespace safeguarding::testing {

std::string TestCredentials::PrincipalFor(v1::Role role) {
  return role == v1::ROLE_INTAKE ? "intake-app" : triage::RoleName(role) + "-1";
}

TestCredentials::TestCredentials(std::string path) : path_(std::move(path)) {
  for (v1::Role role :
       {v1::ROLE_INTAKE, v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR, v1::ROLE_MONITOR, v1::ROLE_ADMIN}) {
    std::string token = services::NewBearerToken();
    absl::Status s = services::AppendTokenEntry(path_, PrincipalFor(role), role, token);
    if (!s.ok()) throw std::runtime_error(std::string(s.message()));
    tokens_[role] = token;
  }
}

void Authorize(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace safeguarding::testing
