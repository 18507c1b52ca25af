#include "triage/access_policy.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace safeguarding::triage {
namespace {

constexpr char kIntake[] = "/safeguarding.triage.v1.ReportIntake/";
constexpr char kDesk[] = "/safeguarding.triage.v1.TriageDesk/";
constexpr char kStats[] = "/safeguarding.triage.v1.Statistics/";
constexpr char kAdmin[] = "/safeguarding.triage.v1.Administration/";

struct Rule {
  const char* service;
  const char* method;
  std::vector<v1::Role> roles;
};

// The table. Every RPC of the contract appears exactly once (a test checks this against
// the proto descriptors).
const std::vector<Rule>& Rules() {
  static const auto* rules = new std::vector<Rule>{
      {kIntake, "SubmitReport", {v1::ROLE_INTAKE}},
      {kDesk, "ListQueues", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "ClaimNextReport", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "RenewClaim", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "ReleaseReport", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "GetReport", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "ListReports", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "RecordDecision", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "Reprioritise", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "AddNote", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "GetReportHistory", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kDesk, "WatchQueues", {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR}},
      {kStats, "GetVolumes", {v1::ROLE_MONITOR, v1::ROLE_SUPERVISOR}},
      {kStats, "CompareVolumes", {v1::ROLE_MONITOR, v1::ROLE_SUPERVISOR}},
      {kStats, "GetQueueStatistics", {v1::ROLE_MONITOR, v1::ROLE_SUPERVISOR}},
      {kAdmin, "ImportReports", {v1::ROLE_ADMIN, v1::ROLE_SUPERVISOR}},
      {kAdmin, "GetAuditLog", {v1::ROLE_ADMIN, v1::ROLE_SUPERVISOR}},
      {kAdmin, "VerifyAuditLog", {v1::ROLE_ADMIN}},
      {kAdmin, "CreateBackup", {v1::ROLE_ADMIN}},
      {kAdmin, "PurgeExpiredReports", {v1::ROLE_ADMIN}},
      {kAdmin, "RotateEncryptionKey", {v1::ROLE_ADMIN}},
      {kAdmin, "ListEncryptionKeys", {v1::ROLE_ADMIN}},
  };
  return *rules;
}

const absl::flat_hash_map<std::string, std::vector<v1::Role>>& Table() {
  static const auto* table = [] {
    auto* t = new absl::flat_hash_map<std::string, std::vector<v1::Role>>();
    for (const Rule& r : Rules()) (*t)[absl::StrCat(r.service, r.method)] = r.roles;
    return t;
  }();
  return *table;
}

}  // namespace

const std::vector<std::string>& ProtectedMethods() {
  static const auto* methods = [] {
    auto* m = new std::vector<std::string>();
    for (const Rule& r : Rules()) m->push_back(absl::StrCat(r.service, r.method));
    return m;
  }();
  return *methods;
}

bool RoleMayCall(v1::Role role, absl::string_view method) {
  auto it = Table().find(method);
  if (it == Table().end()) return false;
  return std::find(it->second.begin(), it->second.end(), role) != it->second.end();
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
