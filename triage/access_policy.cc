#include "triage/access_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "triage/rpcs.h"

namespace safeguarding::triage {

const std::vector<std::string>& ProtectedMethods() {
  static const auto* methods = [] {
    auto* m = new std::vector<std::string>();
    for (const Rpc* rpc : ContractRpcs()) m->push_back(rpc->path());
    return m;
  }();
  return *methods;
}

bool RoleMayCall(v1::Role role, absl::string_view method) {
  const Rpc* rpc = FindRpc(method);
  return rpc != nullptr && rpc->Allows(role);
}

std::optional<v1::Role> RoleFromName(absl::string_view name) {
  v1::Role role;
  if (!v1::Role_Parse(absl::StrCat("ROLE_", absl::AsciiStrToUpper(name)), &role) ||
      role == v1::ROLE_UNSPECIFIED) {
    return std::nullopt;
  }
  return role;
}

std::string RoleName(v1::Role role) {
  std::string name = v1::Role_Name(role);
  if (name.rfind("ROLE_", 0) == 0) name = name.substr(5);
  return absl::AsciiStrToLower(name);
}

}  // namespace safeguarding::triage
