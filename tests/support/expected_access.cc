#include "tests/support/expected_access.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace safeguarding::testing {

namespace v1 = ::safeguarding::triage::v1;

std::set<v1::Role> ExpectedRoles(absl::string_view service, absl::string_view method) {
  if (service == "safeguarding.triage.v1.ReportIntake") {
    if (method == "SubmitReport") return {v1::ROLE_INTAKE};
    return {};
  }
  if (service == "safeguarding.triage.v1.TriageDesk") {
    return {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR};
  }
  if (service == "safeguarding.triage.v1.Statistics") {
    return {v1::ROLE_MONITOR, v1::ROLE_SUPERVISOR};
  }
  if (service == "safeguarding.triage.v1.Administration") {
    if (method == "GetAuditLog" || method == "ImportReports") {
      return {v1::ROLE_ADMIN, v1::ROLE_SUPERVISOR};
    }
    return {v1::ROLE_ADMIN};
  }
  return {};
}

const std::vector<v1::Role>& AllRoles() {
  static const auto* roles =
      new std::vector<v1::Role>{v1::ROLE_UNSPECIFIED, v1::ROLE_INTAKE,  v1::ROLE_TRIAGER,
                                v1::ROLE_SUPERVISOR,  v1::ROLE_MONITOR, v1::ROLE_ADMIN};
  return *roles;
}

std::set<std::string> RpcsDeclaredIn(const std::string& proto_dir) {
  static const std::regex kPackage(R"(^\s*package\s+([\w.]+)\s*;)");
  static const std::regex kService(R"(^\s*service\s+(\w+)\s*\{)");
  static const std::regex kRpc(R"(^\s*rpc\s+(\w+)\s*\()");
  std::set<std::string> rpcs;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(proto_dir)) {
    if (entry.path().extension() != ".proto") continue;
    std::ifstream in(entry.path());
    std::string line, package, service;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, kPackage)) {
        package = m[1];
      } else if (std::regex_search(line, m, kService)) {
        service = m[1];
      } else if (std::regex_search(line, m, kRpc)) {
        rpcs.insert(absl::StrCat("/", package, ".", service, "/", std::string(m[1])));
      } else if (!line.empty() && line[0] == '}') {
        service.clear();  // the end of a top-level block
      }
    }
  }
  return rpcs;
}

}  // namespace safeguarding::testing
