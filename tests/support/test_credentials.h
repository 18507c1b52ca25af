// A credentials file for tests with one principal per role, and their tokens.
#ifndef SAFEGUARDING_TESTS_SUPPORT_TEST_CREDENTIALS_H_
#define SAFEGUARDING_TESTS_SUPPORT_TEST_CREDENTIALS_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::testing {

namespace v1 = ::safeguarding::triage::v1;

class TestCredentials {
 public:
  // Writes `path` with principals "intake-app", "triager-1", "supervisor-1", "monitor-1"
  // and "admin-1", one per role.
  explicit TestCredentials(std::string path);

  const std::string& path() const { return path_; }
  const std::string& token(v1::Role role) const { return tokens_.at(role); }
  static std::string PrincipalFor(v1::Role role);

 private:
  std::string path_;
  std::map<v1::Role, std::string> tokens_;
};

// Adds "authorization: Bearer <token>" to a call.
void Authorize(grpc::ClientContext& context, const std::string& token);

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_TEST_CREDENTIALS_H_
