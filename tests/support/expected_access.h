// The least-privilege rules of docs/SECURITY.md, written out for the tests independently of
// the `access` options the server reads, so a wrong option fails a test.
#ifndef SAFEGUARDING_TESTS_SUPPORT_EXPECTED_ACCESS_H_
#define SAFEGUARDING_TESTS_SUPPORT_EXPECTED_ACCESS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::testing {

// The roles that may call `method` of `service` ("safeguarding.triage.v1.TriageDesk").
std::set<triage::v1::Role> ExpectedRoles(absl::string_view service, absl::string_view method);

// Every role a credential can carry, and ROLE_UNSPECIFIED.
const std::vector<triage::v1::Role>& AllRoles();

// The RPCs declared in the .proto files under `proto_dir`, read from the text ("rpc Name("
// inside "service Name {"), as "/package.Service/Method". Independent of the descriptors.
std::set<std::string> RpcsDeclaredIn(const std::string& proto_dir);

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_EXPECTED_ACCESS_H_
