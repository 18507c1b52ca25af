// The authorisation table: which role may call which RPC. It is the `access` option of
// each RPC of the contract (proto/, read through triage/rpcs.h); an RPC without one is
// denied to every role. Least privilege:
//   intake      ReportIntake.SubmitReport only
//   triager     TriageDesk (their own claims; ownership is checked by the workflow)
//   supervisor  TriageDesk (also on others' claims), Statistics (exact counts),
//               Administration.GetAuditLog and Administration.ImportReports
//   monitor     Statistics only (small counts suppressed)
//   admin       Administration only: no report contents
// grpc.health.v1 and server reflection are not in the table; they stay open.
#ifndef SAFEGUARDING_TRIAGE_ACCESS_POLICY_H_
#define SAFEGUARDING_TRIAGE_ACCESS_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::triage {

// Full method names ("/package.Service/Method") of every protected RPC.
const std::vector<std::string>& ProtectedMethods();

// True when `role` may call `method`. Unknown methods and ROLE_UNSPECIFIED: false.
bool RoleMayCall(v1::Role role, absl::string_view method);

// "triager" <-> ROLE_TRIAGER, as written in the credentials file and docs.
std::optional<v1::Role> RoleFromName(absl::string_view name);
std::string RoleName(v1::Role role);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_ACCESS_POLICY_H_
