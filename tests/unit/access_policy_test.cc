// Tests of triage/rpcs.h and triage/access_policy.h: the RPCs read from the generated
// descriptors are exactly those the .proto files declare, every one carries an `access`
// option, each role gets exactly what the least-privilege rules give it (written out in
// tests/support/expected_access.cc, independently of the options), no role without
// report access reaches an RPC whose answer carries report contents, and role names.
#include "triage/access_policy.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "tests/support/expected_access.h"
#include "tests/support/server_process.h"
#include "triage/rpcs.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::Descriptor;
using testing::AllRoles;
using testing::ExpectedRoles;

std::set<std::string> ContractMethods() {
  std::set<std::string> methods;
  for (const Rpc* rpc : ContractRpcs()) methods.insert(rpc->path());
  return methods;
}

TEST(RpcsTest, TheDescriptorsHoldExactlyTheRpcsTheProtoFilesDeclare) {
  const std::set<std::string> declared = testing::RpcsDeclaredIn(testing::ProtoDir());
  // Guards the text scan: if it found nothing, the comparison would say little.
  for (const char* method : {"/safeguarding.triage.v1.ReportIntake/SubmitReport",
                             "/safeguarding.triage.v1.TriageDesk/WatchQueues",
                             "/safeguarding.triage.v1.Statistics/GetVolumes",
                             "/safeguarding.triage.v1.Administration/RotateEncryptionKey"}) {
    EXPECT_EQ(declared.count(method), 1u) << method;
  }
  EXPECT_EQ(ContractMethods(), declared)
      << "a service or file of the contract is missing from triage/rpcs.cc";
  EXPECT_EQ(ContractRpcs().size(), declared.size()) << "an RPC is listed twice";
}

TEST(RpcsTest, EveryRpcHasAnAccessOptionNamingAtLeastOneRole) {
  for (const Rpc* rpc : ContractRpcs()) {
    ASSERT_NE(rpc->descriptor(), nullptr) << rpc->path();
    EXPECT_TRUE(rpc->descriptor()->options().HasExtension(v1::access)) << rpc->path();
    EXPECT_FALSE(rpc->roles().empty()) << rpc->path();
  }
}

TEST(RpcsTest, FindsEachRpcByItsPathAndNameAndRefusesEveryoneAnythingElse) {
  for (const Rpc* rpc : ContractRpcs()) {
    EXPECT_EQ(FindRpc(rpc->path()), rpc);
    EXPECT_EQ(&RpcNamed(rpc->descriptor()->service()->full_name(), rpc->descriptor()->name()), rpc);
  }
  EXPECT_EQ(FindRpc("/safeguarding.triage.v1.TriageDesk/getreport"), nullptr);
  EXPECT_EQ(FindRpc("safeguarding.triage.v1.TriageDesk/GetReport"), nullptr);
  bool known = true;
  const Rpc& unknown = RpcNamed("safeguarding.triage.v1.TriageDesk", "DeleteEverything", &known);
  EXPECT_FALSE(known);
  EXPECT_EQ(unknown.path(), "/safeguarding.triage.v1.TriageDesk/DeleteEverything");
  EXPECT_EQ(unknown.descriptor(), nullptr);
  for (v1::Role role : AllRoles()) EXPECT_FALSE(unknown.Allows(role)) << v1::Role_Name(role);
  EXPECT_EQ(&RpcNamed("safeguarding.triage.v1.TriageDesk", "DeleteEverything"), &unknown)
      << "made once per path";
  EXPECT_EQ(FindRpc(unknown.path()), nullptr) << "and never part of the contract";
}

// True when a message of `type` can carry what a reporter wrote (the submission, with the
// description and contact details), at any depth.
bool CarriesReportContents(const Descriptor* type, std::set<const Descriptor*>& seen) {
  if (!seen.insert(type).second) return false;
  if (type->full_name() == "safeguarding.triage.v1.ReportSubmission") return true;
  for (int i = 0; i < type->field_count(); ++i) {
    const Descriptor* field_type = type->field(i)->message_type();
    if (field_type != nullptr && CarriesReportContents(field_type, seen)) return true;
  }
  return false;
}

TEST(RpcsTest, OnlyTriagersAndSupervisorsReachAnAnswerWithReportContents) {
  int with_contents = 0;
  for (const Rpc* rpc : ContractRpcs()) {
    std::set<const Descriptor*> seen;
    if (!CarriesReportContents(rpc->descriptor()->output_type(), seen)) continue;
    ++with_contents;
    for (v1::Role role : rpc->roles()) {
      EXPECT_TRUE(role == v1::ROLE_TRIAGER || role == v1::ROLE_SUPERVISOR)
          << v1::Role_Name(role) << " may call " << rpc->path() << ", whose answer carries "
          << "report contents";
    }
  }
  EXPECT_GE(with_contents, 5) << "the walk found too few answers with contents to mean much";
}

TEST(AccessPolicyTest, EachRoleMayCallExactlyWhatTheRulesGiveIt) {
  for (const Rpc* rpc : ContractRpcs()) {
    const std::set<v1::Role> expected =
        ExpectedRoles(rpc->descriptor()->service()->full_name(), rpc->descriptor()->name());
    for (v1::Role role : AllRoles()) {
      const bool may = expected.count(role) > 0;
      EXPECT_EQ(RoleMayCall(role, rpc->path()), may)
          << v1::Role_Name(role) << " on " << rpc->path();
      EXPECT_EQ(rpc->Allows(role), may) << v1::Role_Name(role) << " on " << rpc->path();
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
  EXPECT_EQ(table.size(), ContractRpcs().size());
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
