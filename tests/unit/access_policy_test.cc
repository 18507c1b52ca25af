// Tests of triage/access_policy.h: the table covers exactly the RPCs of the contract (read
// from the generated descriptors), each role gets exactly what the least-privilege rules
// give it (an expected table written here, independently of the code), and role names.
#include "triage/access_policy.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"

namespace safeguarding::triage {
namespace {

constexpr char kIntake[] = "safeguarding.triage.v1.ReportIntake";
constexpr char kDesk[] = "safeguarding.triage.v1.TriageDesk";
constexpr char kStats[] = "safeguarding.triage.v1.Statistics";
constexpr char kAdmin[] = "safeguarding.triage.v1.Administration";

const std::vector<v1::Role>& AllRoles() {
  static const auto* roles =
      new std::vector<v1::Role>{v1::ROLE_UNSPECIFIED, v1::ROLE_INTAKE,  v1::ROLE_TRIAGER,
                                v1::ROLE_SUPERVISOR,  v1::ROLE_MONITOR, v1::ROLE_ADMIN};
  return *roles;
}

std::string FullName(const std::string& service, const std::string& method) {
  return absl::StrCat("/", service, "/", method);
}

// Every service declared in the four contract files, from the generated pool. A request type
// of each file is named so that the file's descriptor is linked in and registered.
std::vector<const google::protobuf::ServiceDescriptor*> ContractServices() {
  const google::protobuf::Descriptor* anchors[] = {
      v1::SubmitReportRequest::descriptor(),
      v1::ListQueuesRequest::descriptor(),
      v1::GetVolumesRequest::descriptor(),
      v1::ImportReportsRequest::descriptor(),
  };
  const google::protobuf::DescriptorPool* pool = google::protobuf::DescriptorPool::generated_pool();
  std::vector<const google::protobuf::ServiceDescriptor*> services;
  for (const char* name : {kIntake, kDesk, kStats, kAdmin}) {
    const google::protobuf::ServiceDescriptor* service = pool->FindServiceByName(name);
    EXPECT_NE(service, nullptr) << name << " is not in the generated pool";
    if (service != nullptr) services.push_back(service);
  }
  // Any further service added to one of these files is part of the contract too.
  for (const google::protobuf::Descriptor* anchor : anchors) {
    const google::protobuf::FileDescriptor* file = anchor->file();
    for (int i = 0; i < file->service_count(); ++i) {
      const google::protobuf::ServiceDescriptor* service = file->service(i);
      bool known = false;
      for (const auto* s : services) known = known || s == service;
      if (!known) services.push_back(service);
    }
  }
  return services;
}

std::set<std::string> ContractMethods() {
  std::set<std::string> methods;
  for (const google::protobuf::ServiceDescriptor* service : ContractServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      methods.insert(FullName(service->full_name(), service->method(i)->name()));
    }
  }
  return methods;
}

// The rules of the header comment, written out here: the roles that may call `method` of
// `service`.
std::set<v1::Role> ExpectedRoles(const std::string& service, const std::string& method) {
  if (service == kIntake) {
    if (method == "SubmitReport") return {v1::ROLE_INTAKE};
    return {};
  }
  if (service == kDesk) return {v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR};
  if (service == kStats) return {v1::ROLE_MONITOR, v1::ROLE_SUPERVISOR};
  if (service == kAdmin) {
    if (method == "GetAuditLog" || method == "ImportReports") {
      return {v1::ROLE_ADMIN, v1::ROLE_SUPERVISOR};
    }
    return {v1::ROLE_ADMIN};
  }
  return {};
}

TEST(AccessPolicyTest, TheContractHasTheExpectedServicesAndMethods) {
  // Guards the descriptor walk below: if it found nothing, coverage would pass vacuously.
  for (const google::protobuf::ServiceDescriptor* service : ContractServices()) {
    EXPECT_GT(service->method_count(), 0) << service->full_name();
  }
  const std::set<std::string> methods = ContractMethods();
  for (const char* method : {"/safeguarding.triage.v1.ReportIntake/SubmitReport",
                             "/safeguarding.triage.v1.TriageDesk/WatchQueues",
                             "/safeguarding.triage.v1.Statistics/GetVolumes",
                             "/safeguarding.triage.v1.Administration/RotateEncryptionKey"}) {
    EXPECT_EQ(methods.count(method), 1u) << method;
  }
}

TEST(AccessPolicyTest, EveryContractMethodIsProtected) {
  const std::vector<std::string>& protected_methods = ProtectedMethods();
  const std::set<std::string> table(protected_methods.begin(), protected_methods.end());
  for (const std::string& method : ContractMethods()) {
    EXPECT_EQ(table.count(method), 1u) << method << " is missing from the table";
  }
}

TEST(AccessPolicyTest, TheTableHasNoExtraOrDuplicateMethods) {
  const std::set<std::string> contract = ContractMethods();
  std::map<std::string, int> seen;
  for (const std::string& method : ProtectedMethods()) {
    ++seen[method];
    EXPECT_EQ(contract.count(method), 1u) << method << " is not an RPC of the contract";
  }
  for (const auto& [method, count] : seen) {
    EXPECT_EQ(count, 1) << method << " is listed " << count << " times";
  }
  EXPECT_EQ(ProtectedMethods().size(), contract.size());
}

TEST(AccessPolicyTest, EachRoleMayCallExactlyWhatTheRulesGiveIt) {
  for (const google::protobuf::ServiceDescriptor* service : ContractServices()) {
    for (int i = 0; i < service->method_count(); ++i) {
      const std::string method_name = service->method(i)->name();
      const std::string method = FullName(service->full_name(), method_name);
      const std::set<v1::Role> expected = ExpectedRoles(service->full_name(), method_name);
      for (v1::Role role : AllRoles()) {
        const bool may = expected.count(role) > 0;
        EXPECT_EQ(RoleMayCall(role, method), may) << v1::Role_Name(role) << " on " << method;
      }
    }
  }
}

// The same rules as spot checks that name the cases least privilege is about.
TEST(AccessPolicyTest, LeastPrivilegeSpotChecks) {
  struct Case {
    v1::Role role;
    const char* method;
    bool allowed;
  };
  const Case cases[] = {
      {v1::ROLE_INTAKE, "/safeguarding.triage.v1.ReportIntake/SubmitReport", true},
      {v1::ROLE_INTAKE, "/safeguarding.triage.v1.TriageDesk/GetReport", false},
      {v1::ROLE_INTAKE, "/safeguarding.triage.v1.Statistics/GetVolumes", false},
      {v1::ROLE_TRIAGER, "/safeguarding.triage.v1.TriageDesk/RecordDecision", true},
      {v1::ROLE_TRIAGER, "/safeguarding.triage.v1.ReportIntake/SubmitReport", false},
      {v1::ROLE_TRIAGER, "/safeguarding.triage.v1.Statistics/GetQueueStatistics", false},
      {v1::ROLE_TRIAGER, "/safeguarding.triage.v1.Administration/GetAuditLog", false},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.TriageDesk/Reprioritise", true},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Statistics/CompareVolumes", true},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/GetAuditLog", true},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/ImportReports", true},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/VerifyAuditLog", false},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/CreateBackup", false},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/PurgeExpiredReports", false},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.Administration/RotateEncryptionKey", false},
      {v1::ROLE_SUPERVISOR, "/safeguarding.triage.v1.ReportIntake/SubmitReport", false},
      {v1::ROLE_MONITOR, "/safeguarding.triage.v1.Statistics/GetVolumes", true},
      {v1::ROLE_MONITOR, "/safeguarding.triage.v1.TriageDesk/ListQueues", false},
      {v1::ROLE_MONITOR, "/safeguarding.triage.v1.Administration/GetAuditLog", false},
      {v1::ROLE_ADMIN, "/safeguarding.triage.v1.Administration/RotateEncryptionKey", true},
      {v1::ROLE_ADMIN, "/safeguarding.triage.v1.TriageDesk/GetReport", false},
      {v1::ROLE_ADMIN, "/safeguarding.triage.v1.TriageDesk/ListReports", false},
      {v1::ROLE_ADMIN, "/safeguarding.triage.v1.ReportIntake/SubmitReport", false},
      {v1::ROLE_ADMIN, "/safeguarding.triage.v1.Statistics/GetVolumes", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RoleMayCall(c.role, c.method), c.allowed)
        << v1::Role_Name(c.role) << " on " << c.method;
  }
}

TEST(AccessPolicyTest, NoRoleMayCallAnUnknownMethod) {
  const char* unknown[] = {
      "",
      "/",
      "GetReport",
      "TriageDesk/GetReport",
      "safeguarding.triage.v1.TriageDesk/GetReport",    // no leading slash
      "/safeguarding.triage.v1.TriageDesk/GetReport/",  // trailing slash
      "/safeguarding.triage.v1.TriageDesk/getreport",   // wrong case
      "/safeguarding.triage.v1.triagedesk/GetReport",
      "/safeguarding.triage.v1.TriageDesk/DeleteEverything",
      "/safeguarding.triage.v1.TriageDesk/",
      "/safeguarding.triage.v2.TriageDesk/GetReport",
      "/safeguarding.triage.v1.Administration/DropDatabase",
  };
  for (const char* method : unknown) {
    for (v1::Role role : AllRoles()) {
      EXPECT_FALSE(RoleMayCall(role, method)) << v1::Role_Name(role) << " on '" << method << "'";
    }
  }
}

TEST(AccessPolicyTest, RoleUnspecifiedAndOutOfRangeRolesMayCallNothing) {
  for (const std::string& method : ContractMethods()) {
    EXPECT_FALSE(RoleMayCall(v1::ROLE_UNSPECIFIED, method)) << method;
    EXPECT_FALSE(RoleMayCall(static_cast<v1::Role>(99), method)) << method;
    EXPECT_FALSE(RoleMayCall(static_cast<v1::Role>(-1), method)) << method;
  }
}

TEST(AccessPolicyTest, HealthAndReflectionAreNotInTheTable) {
  const std::vector<std::string>& table = ProtectedMethods();
  for (const std::string& method : table) {
    EXPECT_NE(method.rfind("/grpc.health.v1.", 0), 0u) << method;
    EXPECT_NE(method.rfind("/grpc.reflection.", 0), 0u) << method;
  }
  for (const char* method : {"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
                             "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"}) {
    for (v1::Role role : AllRoles()) {
      EXPECT_FALSE(RoleMayCall(role, method)) << v1::Role_Name(role) << " on " << method;
    }
  }
}

TEST(RoleNameTest, RoundTripsTheFiveRoles) {
  struct Case {
    const char* name;
    v1::Role role;
  };
  const Case cases[] = {
      {"intake", v1::ROLE_INTAKE},         {"triager", v1::ROLE_TRIAGER},
      {"supervisor", v1::ROLE_SUPERVISOR}, {"monitor", v1::ROLE_MONITOR},
      {"admin", v1::ROLE_ADMIN},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RoleName(c.role), c.name);
    std::optional<v1::Role> parsed = RoleFromName(c.name);
    ASSERT_TRUE(parsed.has_value()) << c.name;
    EXPECT_EQ(*parsed, c.role) << c.name;
  }
}

TEST(RoleNameTest, ParsingIgnoresCase) {
  struct Case {
    const char* name;
    v1::Role role;
  };
  const Case cases[] = {
      {"INTAKE", v1::ROLE_INTAKE},         {"Triager", v1::ROLE_TRIAGER},
      {"SuperVisor", v1::ROLE_SUPERVISOR}, {"monitoR", v1::ROLE_MONITOR},
      {"ADMIN", v1::ROLE_ADMIN},
  };
  for (const Case& c : cases) {
    std::optional<v1::Role> parsed = RoleFromName(c.name);
    ASSERT_TRUE(parsed.has_value()) << c.name;
    EXPECT_EQ(*parsed, c.role) << c.name;
  }
}

TEST(RoleNameTest, RejectsNamesThatAreNotRoles) {
  for (const char* name : {"unspecified", "UNSPECIFIED", "", "root", "administrator", "triage",
                           "admins", "role_admin", "ROLE_ADMIN", "1", "intake,admin"}) {
    EXPECT_FALSE(RoleFromName(name).has_value()) << "'" << name << "'";
  }
}

}  // namespace
}  // namespace safeguarding::triage
