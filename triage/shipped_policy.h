// The shipped triage policy, deploy/config/policy.textproto, as this binary was built with
// it (CMake copies the file into shipped_policy.cc at configure time).
#ifndef SAFEGUARDING_TRIAGE_SHIPPED_POLICY_H_
#define SAFEGUARDING_TRIAGE_SHIPPED_POLICY_H_

#include "absl/strings/string_view.h"

namespace safeguarding::triage {

inline constexpr char kShippedPolicyPath[] = "deploy/config/policy.textproto";

absl::string_view ShippedPolicyText();

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_SHIPPED_POLICY_H_
