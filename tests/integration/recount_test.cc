// Administration.RecountStatistics through a real server on loopback: after thousands of
// random operations (submits and their retries, claims, releases, decisions, reprioritising,
// expired claims, imports with and without outcomes and their repeats, hours and days
// passing) the counters kept with every change agree with a recount from the reports; a
// counter changed behind the server's back is found and named; the call is audited, checks
// its argument and is an admin's only.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "storage/counter_cells.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_clients.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using ::testing::StartsWith;

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// A random non-zero value of an enum.
template <typename Enum>
Enum Pick(const google::protobuf::EnumDescriptor* type, std::mt19937& random) {
  std::uniform_int_distribution<int> index(1, type->value_count() - 1);
  return static_cast<Enum>(type->value(index(random))->number());
}

class RecountTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }

  void Start() {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.clock = &clock_;
    absl::Status started = s_.Start(options);
    ASSERT_TRUE(started.ok()) << started;
  }

  grpc::Status Recount(v1::RecountStatisticsResponse* response, int max_differences = 0,
                       v1::Role role = v1::ROLE_ADMIN) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(role));
    v1::RecountStatisticsRequest request;
    request.set_max_differences(max_differences);
    return s_.admin->RecountStatistics(&context, request, response);
  }

  // A random submission: every reporter type, roles, one to three categories, channels,
  // listed, unlisted and missing regions, ages and none, the flags that raise priority.
  v1::ReportSubmission RandomSubmission() {
    v1::ReportSubmission s = testing::ValidSubmission();
    const auto type = Pick<v1::ReporterType>(v1::ReporterType_descriptor(), random_);
    s.mutable_reporter()->set_type(type);
    if (type == v1::REPORTER_TYPE_PROFESSIONAL) {
      s.mutable_reporter()->set_professional_role(
          Pick<v1::ProfessionalRole>(v1::ProfessionalRole_descriptor(), random_));
    }
    std::set<int> categories, channels;
    for (int n = 1 + Below(3); n > 0; --n) {
      categories.insert(Pick<v1::ConcernCategory>(v1::ConcernCategory_descriptor(), random_));
    }
    for (int n = Below(3); n > 0; --n) {
      channels.insert(Pick<v1::Channel>(v1::Channel_descriptor(), random_));
    }
    s.clear_categories();
    for (int c : categories) s.add_categories(static_cast<v1::ConcernCategory>(c));
    s.clear_channels();
    for (int c : channels) s.add_channels(static_cast<v1::Channel>(c));
    static const char* const kRegions[] = {"Thames Valley", "Kent", "Police Scotland",
                                           "Atlantis",      "",     "Merseyside"};
    s.set_region(kRegions[Below(6)]);
    if (Below(5) == 0) {
      s.clear_child_age();
    } else {
      s.set_child_age(Below(18));
    }
    s.set_immediate_danger(Below(8) == 0);
    s.set_ongoing_contact(Below(2) == 0);
    s.set_planned_meeting(Below(6) == 0);
    return s;
  }

  int Below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(random_); }

  void Submit() {
    v1::SubmitReportRequest request;
    // Now and then a retry of an earlier request: answered again, counted once.
    if (!requests_.empty() && Below(10) == 0) {
      request = requests_[Below(static_cast<int>(requests_.size()))];
    } else {
      request.set_request_id(absl::StrCat("recount-", requests_.size()));
      *request.mutable_report() = RandomSubmission();
      requests_.push_back(request);
    }
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    v1::SubmitReportResponse response;
    grpc::Status status = s_.intake->SubmitReport(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (!reports_.insert(response.report_id()).second) ++seen_["replayed submits"];
  }

  void Claim() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::ClaimNextReportResponse response;
    grpc::Status status =
        s_.desk->ClaimNextReport(&context, v1::ClaimNextReportRequest(), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    if (response.has_claim()) held_.push_back(response.claim());
  }

  // Decides or releases a held claim (which may have expired meanwhile: refused, no change).
  void Settle(bool decide) {
    if (held_.empty()) return;
    const size_t at = static_cast<size_t>(Below(static_cast<int>(held_.size())));
    const v1::Claim claim = held_[at];
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(at));
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::Report report;
    grpc::Status status;
    if (decide) {
      v1::RecordDecisionRequest request;
      request.set_report_id(claim.report_id());
      request.set_claim_id(claim.claim_id());
      request.set_outcome(Pick<v1::Outcome>(v1::Outcome_descriptor(), random_));
      if (request.outcome() == v1::OUTCOME_DUPLICATE) {
        request.set_duplicate_of(*reports_.begin());
      }
      request.set_note("decided in the recount test");
      status = s_.desk->RecordDecision(&context, request, &report);
    } else {
      v1::ReleaseReportRequest request;
      request.set_report_id(claim.report_id());
      request.set_claim_id(claim.claim_id());
      request.set_reason("released in the recount test");
      status = s_.desk->ReleaseReport(&context, request, &report);
    }
    EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
                status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
        << status.error_code() << " " << status.error_message();
    if (status.ok()) ++seen_[decide ? "decisions" : "releases"];
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) ++seen_["expired claims"];
  }

  void Reprioritise() {
    if (reports_.empty()) return;
    auto it = reports_.begin();
    std::advance(it, Below(static_cast<int>(reports_.size())));
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
    v1::ReprioritiseRequest request;
    request.set_report_id(*it);
    request.set_priority(Pick<v1::Priority>(v1::Priority_descriptor(), random_));
    request.set_reason("reassessed in the recount test");
    v1::Report report;
    grpc::Status status = s_.desk->Reprioritise(&context, request, &report);
    EXPECT_TRUE(status.ok() || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
        << status.error_code() << " " << status.error_message();
    if (status.ok()) ++seen_["reprioritised"];
  }

  // A batch of historical reports, some decided (with and without a claim time), some open,
  // some imported before.
  void Import() {
    v1::ImportReportsRequest request;
    const int earlier = imported_;  // ids of earlier batches, repeated now and then
    std::set<int> repeated;
    for (int n = 1 + Below(20); n > 0; --n) {
      const bool again = earlier > 0 && Below(8) == 0;
      int source = again ? Below(earlier) : 0;
      if (!again || !repeated.insert(source).second) source = imported_++;
      v1::ImportedReport* r = request.add_reports();
      r->set_source_id(absl::StrCat("legacy-", source));
      const absl::Time received = clock_.Now() - absl::Minutes(1 + Below(60 * 24 * 60));
      *r->mutable_received_time() = Ts(received);
      *r->mutable_submission() = RandomSubmission();
      if (Below(4) != 0) {
        r->set_outcome(Pick<v1::Outcome>(v1::Outcome_descriptor(), random_));
        if (r->outcome() == v1::OUTCOME_DUPLICATE) r->set_outcome(v1::OUTCOME_NO_FURTHER_ACTION);
        const int minutes = static_cast<int>(absl::ToInt64Minutes(clock_.Now() - received));
        const absl::Duration took = absl::Minutes(1 + Below(minutes));
        *r->mutable_decision_time() = Ts(received + took);
        if (Below(2) == 0) *r->mutable_claim_time() = Ts(received + took / 2);
      }
    }
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
    v1::ImportReportsResponse response;
    grpc::Status status = s_.admin->ImportReports(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    for (const v1::ImportResult& result : response.results()) {
      ASSERT_NE(result.status(), v1::IMPORT_STATUS_REFUSED) << result.error();
      reports_.insert(result.report_id());
      if (result.status() == v1::IMPORT_STATUS_ALREADY_IMPORTED) ++seen_["imported again"];
    }
  }

  // Minutes to hours pass (claims expire, reports fall past due, days turn).
  void Wait() {
    clock_.Advance(absl::Minutes(1 + Below(Below(4) == 0 ? 60 * 30 : 20)));
    absl::SleepFor(absl::Milliseconds(2));  // the lease keeper runs
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1774256400)};  // 2026-03-23 09:00 UTC
  std::mt19937 random_{20261202};
  testing::ServerClients s_;
  std::vector<v1::SubmitReportRequest> requests_;
  std::set<std::string> reports_;
  std::vector<v1::Claim> held_;
  int imported_ = 0;
  std::map<std::string, int> seen_;  // what the operations did, to show they covered it
};

TEST_F(RecountTest, AgreesAfterThousandsOfRandomOperations) {
  v1::RecountStatisticsResponse empty;
  ASSERT_TRUE(Recount(&empty).ok());
  EXPECT_EQ(empty.reports_scanned(), 0u);
  EXPECT_EQ(empty.differences(), 0u);

  constexpr int kOperations = 2500;
  for (int op = 0; op < kOperations && !HasFatalFailure(); ++op) {
    const int roll = Below(100);
    if (roll < 35) {
      Submit();
    } else if (roll < 55) {
      Claim();
    } else if (roll < 72) {
      Settle(/*decide=*/true);
    } else if (roll < 77) {
      Settle(/*decide=*/false);
    } else if (roll < 82) {
      Reprioritise();
    } else if (roll < 87) {
      Import();
    } else {
      Wait();
    }
  }
  v1::RecountStatisticsResponse response;
  grpc::Status status = Recount(&response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  for (const char* what : {"replayed submits", "decisions", "releases", "expired claims",
                           "reprioritised", "imported again"}) {
    EXPECT_GT(seen_[what], 0) << what;
  }
  EXPECT_GT(seen_["decisions"], 100);
  EXPECT_EQ(response.reports_scanned(), reports_.size());
  EXPECT_GT(reports_.size(), 1000u);
  EXPECT_GT(response.counters_compared(), 1000u);
  EXPECT_EQ(response.differences(), 0u);
  for (const v1::CounterDifference& d : response.listed()) {
    ADD_FAILURE() << d.counter() << " cell " << d.cell() << ": stored " << d.stored()
                  << ", recounted " << d.recounted();
  }
  // ... and again after a restart (the counters were durable with the reports).
  s_.server.reset();
  Start();
  v1::RecountStatisticsResponse again;
  ASSERT_TRUE(Recount(&again).ok());
  EXPECT_EQ(again.reports_scanned(), response.reports_scanned());
  EXPECT_EQ(again.counters_compared(), response.counters_compared());
  EXPECT_EQ(again.differences(), 0u);
}

TEST_F(RecountTest, ACounterChangedBehindTheServersBackIsFoundAndNamed) {
  for (int n = 0; n < 30; ++n) Submit();
  for (int n = 0; n < 10; ++n) Claim();
  for (int n = 0; n < 10; ++n) Settle(/*decide=*/true);
  v1::RecountStatisticsResponse before;
  ASSERT_TRUE(Recount(&before).ok());
  ASSERT_EQ(before.differences(), 0u);

  // With the server stopped, one cell of one counter gains 3 and another counter goes.
  s_.server.reset();
  std::string bumped_key, deleted_key;
  uint64_t deleted_total = 0;
  {
    testing::RawDb db(dir_.Sub("db"));
    const auto all = db.All(storage::ColumnFamily::kStatistics);
    ASSERT_GT(all.size(), 10u);
    bumped_key = all[all.size() / 3].first;
    std::vector<uint64_t> cells = *storage::DecodeCounterCells(all[all.size() / 3].second);
    const auto cell = std::find_if(cells.begin(), cells.end(), [](uint64_t c) { return c > 0; });
    ASSERT_NE(cell, cells.end());
    *cell += 3;
    db.Put(storage::ColumnFamily::kStatistics, bumped_key, storage::EncodeCounterCells(cells));
    deleted_key = all[2 * all.size() / 3].first;
    std::vector<uint64_t> gone = *storage::DecodeCounterCells(all[2 * all.size() / 3].second);
    for (uint64_t c : gone) deleted_total += c > 0 ? 1 : 0;
    db.Delete(storage::ColumnFamily::kStatistics, deleted_key);
  }
  Start();
  v1::RecountStatisticsResponse after;
  ASSERT_TRUE(Recount(&after).ok());
  EXPECT_EQ(after.reports_scanned(), before.reports_scanned());
  EXPECT_EQ(after.counters_compared(), before.counters_compared());
  EXPECT_EQ(after.differences(), 1 + deleted_total);
  ASSERT_EQ(after.listed_size(), static_cast<int>(after.differences()));
  int bumped = 0, missing = 0;
  for (const v1::CounterDifference& d : after.listed()) {
    EXPECT_THAT(d.counter(), ::testing::MatchesRegex(
                                 "(received|decided|wait-to-claim|time-to-decision|sla-breaches) "
                                 ".* [0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]+Z)?"));
    if (d.stored() == d.recounted() + 3) ++bumped;
    if (d.stored() == 0 && d.recounted() > 0) ++missing;
  }
  EXPECT_EQ(bumped, 1);
  EXPECT_EQ(missing, static_cast<int>(deleted_total));

  // The listing is capped; the count is not.
  v1::RecountStatisticsResponse capped;
  ASSERT_TRUE(Recount(&capped, 1).ok());
  EXPECT_EQ(capped.listed_size(), 1);
  EXPECT_EQ(capped.differences(), after.differences());
}

TEST_F(RecountTest, ABadLimitIsRefusedNamingTheFieldAndOnlyAnAdminMayRecount) {
  v1::RecountStatisticsResponse response;
  grpc::Status status = Recount(&response, -1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("max_differences"));
  EXPECT_EQ(Recount(&response, 10001).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  for (v1::Role role : {v1::ROLE_SUPERVISOR, v1::ROLE_MONITOR, v1::ROLE_TRIAGER, v1::ROLE_INTAKE}) {
    EXPECT_EQ(Recount(&response, 0, role).error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << v1::Role_Name(role);
  }
}

TEST_F(RecountTest, EveryRecountIsAudited) {
  Submit();
  v1::RecountStatisticsResponse response;
  ASSERT_TRUE(Recount(&response).ok());
  ASSERT_EQ(Recount(&response, -5).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  grpc::ClientContext context;
  testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
  v1::GetAuditLogRequest request;
  request.set_page_size(1000);
  v1::GetAuditLogResponse log;
  ASSERT_TRUE(s_.admin->GetAuditLog(&context, request, &log).ok());
  std::vector<int> codes;
  for (const v1::AuditEntry& e : log.entries()) {
    if (absl::StrContains(e.method(), "RecountStatistics")) {
      EXPECT_THAT(e.principal(), StartsWith("admin"));
      EXPECT_TRUE(e.report_id().empty());
      codes.push_back(e.result_code());
    }
  }
  EXPECT_THAT(codes,
              ::testing::ElementsAre(grpc::StatusCode::OK, grpc::StatusCode::INVALID_ARGUMENT));
}

}  // namespace
}  // namespace safeguarding
