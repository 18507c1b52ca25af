// Retention through a real server on loopback, with a fake clock: a purge deletes the
// description, contact details and notes of closed reports past their outcome's period and
// nothing else (open reports, outcomes without a period and reports still inside it stay
// whole), keeps a tombstone, the statistics and the audit chain, refuses further changes,
// and leaves no copy of the old contents in any file of the data directory; a dry run
// changes nothing; every answer names the periods in force and every audit entry of a purge
// its terms (dry run, closed_before); the daily schedule runs by itself; bad flags refuse
// the start.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "storage/column_families.h"
#include "storage/report_id.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_clients.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr char kDescription[] = "A man in a game asked my son for photos and his address";
constexpr char kNote[] = "Spoke to the parent; the account is reported to the platform";

// True if any file under `dir` holds `needle`.
bool AnyFileHolds(const std::string& dir, const std::string& needle) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

class RetentionTest : public ::testing::Test {
 protected:
  RetentionTest() {
    options_ = testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options_.clock = &clock_;
    options_.retention = "no_further_action=30d,duplicate=7d";
    options_.purge_daily_at = "";
    options_.purge_schedule_poll = absl::Milliseconds(20);
  }

  void Start() {
    absl::Status started = s_.Start(options_);
    ASSERT_TRUE(started.ok()) << started;
  }

  std::unique_ptr<grpc::ClientContext> As(v1::Role role) {
    auto context = std::make_unique<grpc::ClientContext>();
    testing::Authorize(*context, credentials_.token(role));
    return context;
  }

  // A parent's report with contact details (a millisecond after the one before, so that
  // claims take them in turn).
  std::string Submit(int n) {
    clock_.Advance(absl::Milliseconds(1));
    v1::SubmitReportRequest request = testing::ValidRequest(absl::StrCat("r", n));
    v1::Reporter* reporter = request.mutable_report()->mutable_reporter();
    reporter->set_type(v1::REPORTER_TYPE_PARENT_CARER);
    reporter->mutable_contact()->set_name("Sam Parent");
    reporter->mutable_contact()->set_phone("+44 20 7946 0000");
    request.mutable_report()->set_description(absl::StrCat(kDescription, " #", n));
    v1::SubmitReportResponse response;
    grpc::Status status = s_.intake->SubmitReport(As(v1::ROLE_INTAKE).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.report_id();
  }

  // Claims the next report (it must be `id`) and decides it with a note.
  void Decide(const std::string& id, v1::Outcome outcome, const std::string& duplicate_of = "") {
    v1::ClaimNextReportResponse claim;
    ASSERT_TRUE(s_.desk->ClaimNextReport(As(v1::ROLE_TRIAGER).get(), {}, &claim).ok());
    ASSERT_EQ(claim.report().id(), id);
    v1::RecordDecisionRequest request;
    request.set_report_id(id);
    request.set_claim_id(claim.claim().claim_id());
    request.set_outcome(outcome);
    request.set_note(kNote);
    request.set_duplicate_of(duplicate_of);
    v1::Report report;
    grpc::Status status = s_.desk->RecordDecision(As(v1::ROLE_TRIAGER).get(), request, &report);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  v1::Report Get(const std::string& id) {
    v1::GetReportRequest request;
    request.set_report_id(id);
    v1::Report report;
    grpc::Status status = s_.desk->GetReport(As(v1::ROLE_SUPERVISOR).get(), request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  std::vector<v1::ReportEvent> History(const std::string& id) {
    v1::GetReportHistoryRequest request;
    request.set_report_id(id);
    v1::GetReportHistoryResponse response;
    EXPECT_TRUE(s_.desk->GetReportHistory(As(v1::ROLE_SUPERVISOR).get(), request, &response).ok());
    return {response.events().begin(), response.events().end()};
  }

  grpc::Status Purge(bool dry_run, v1::PurgeExpiredReportsResponse* response,
                     std::optional<absl::Time> closed_before = std::nullopt) {
    v1::PurgeExpiredReportsRequest request;
    request.set_dry_run(dry_run);
    if (closed_before) {
      *request.mutable_closed_before() =
          TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(*closed_before));
    }
    return s_.admin->PurgeExpiredReports(As(v1::ROLE_ADMIN).get(), request, response);
  }

  // The audit entries of the admin's PurgeExpiredReports calls (not of the reports purged).
  std::vector<v1::AuditEntry> PurgeCalls() {
    v1::GetAuditLogRequest request;
    request.set_principal(testing::TestCredentials::PrincipalFor(v1::ROLE_ADMIN));
    request.set_page_size(1000);
    v1::GetAuditLogResponse response;
    EXPECT_TRUE(s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), request, &response).ok());
    std::vector<v1::AuditEntry> calls;
    for (const v1::AuditEntry& e : response.entries()) {
      if (absl::EndsWith(e.method(), "/PurgeExpiredReports") && e.report_id().empty()) {
        calls.push_back(e);
      }
    }
    return calls;
  }

  std::vector<v1::AuditEntry> AuditOf(const std::string& report_id) {
    v1::GetAuditLogRequest request;
    request.set_report_id(report_id);
    request.set_page_size(100);
    v1::GetAuditLogResponse response;
    EXPECT_TRUE(s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), request, &response).ok());
    return {response.entries().begin(), response.entries().end()};
  }

  uint64_t Differences() {
    v1::RecountStatisticsResponse response;
    grpc::Status status = s_.admin->RecountStatistics(As(v1::ROLE_ADMIN).get(), {}, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.differences();
  }

  // The sealed part (description and contact) of report `id` as stored, read with the
  // server stopped: what must be gone from every file after the purge.
  std::string SealedContents(const std::string& id) {
    s_.server.reset();
    testing::RawDb raw(dir_.Sub("db"));
    const std::string value = raw.Get(storage::ColumnFamily::kReports,
                                      std::string(storage::ReportId::Parse(id)->bytes()));
    return value.size() > 48 ? value.substr(value.size() - 48) : value;  // ciphertext and tag
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1774256400)};  // 2026-03-23T09:00:00Z
  services::ServerOptions options_;
  testing::ServerClients s_;
};

TEST_F(RetentionTest, APurgeDeletesOnlyExpiredContentsAndKeepsTombstonesCountsAndTheTrail) {
  ASSERT_NO_FATAL_FAILURE(Start());
  // No further action (30 days), a duplicate of it (7 days), a police referral (no
  // period: kept for ever), and one left open.
  const std::string nfa = Submit(1), duplicate = Submit(2), police = Submit(3), open = Submit(4);
  ASSERT_NO_FATAL_FAILURE(Decide(nfa, v1::OUTCOME_NO_FURTHER_ACTION));
  clock_.Advance(absl::Hours(1));
  ASSERT_NO_FATAL_FAILURE(Decide(duplicate, v1::OUTCOME_DUPLICATE, nfa));
  ASSERT_NO_FATAL_FAILURE(Decide(police, v1::OUTCOME_REFERRED_TO_POLICE));
  const std::string sealed = SealedContents(nfa);
  ASSERT_NO_FATAL_FAILURE(Start());
  ASSERT_TRUE(AnyFileHolds(dir_.Sub("db"), sealed)) << "the control: the files hold it now";

  // After 8 days only the duplicate is past its period.
  clock_.Advance(absl::Hours(24 * 8));
  v1::PurgeExpiredReportsResponse dry;
  ASSERT_TRUE(Purge(/*dry_run=*/true, &dry).ok());
  EXPECT_TRUE(dry.dry_run());
  EXPECT_EQ(dry.purged(), 1u);
  EXPECT_EQ(dry.examined(), 3u) << "the closed reports";
  ASSERT_EQ(dry.by_outcome_size(), 1);
  EXPECT_EQ(dry.by_outcome(0).outcome(), v1::OUTCOME_DUPLICATE);
  EXPECT_THAT(Get(duplicate).submission().description(), HasSubstr(kDescription))
      << "a dry run changes nothing";

  // After 31 days both are; a cut-off before the duplicate's decision narrows it to one.
  clock_.Advance(absl::Hours(24 * 23));
  const absl::Time duplicate_closed =
      absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(Get(duplicate).closed_time()));
  v1::PurgeExpiredReportsResponse first;
  ASSERT_TRUE(Purge(false, &first, duplicate_closed).ok());
  EXPECT_EQ(first.purged(), 1u);
  ASSERT_EQ(first.by_outcome_size(), 1);
  EXPECT_EQ(first.by_outcome(0).outcome(), v1::OUTCOME_NO_FURTHER_ACTION);
  v1::PurgeExpiredReportsResponse second;
  ASSERT_TRUE(Purge(false, &second).ok());
  EXPECT_EQ(second.purged(), 1u) << "the duplicate; the first is not purged twice";
  EXPECT_EQ(second.examined(), 2u) << "a purged report is not examined again";

  for (const std::string& id : {nfa, duplicate}) {
    v1::Report tombstone = Get(id);
    EXPECT_TRUE(tombstone.has_purge_time()) << id;
    EXPECT_EQ(tombstone.submission().description(), "");
    EXPECT_FALSE(tombstone.submission().reporter().has_contact());
    EXPECT_EQ(tombstone.submission().platform(), "") << "free text too";
    EXPECT_EQ(tombstone.submission().reporter().type(), v1::REPORTER_TYPE_PARENT_CARER);
    EXPECT_EQ(tombstone.state(), v1::REPORT_STATE_CLOSED);
    EXPECT_TRUE(tombstone.has_received_time());
    EXPECT_TRUE(tombstone.has_closed_time());
    EXPECT_NE(tombstone.triage().priority(), v1::PRIORITY_UNSPECIFIED);
    std::vector<v1::ReportEvent> history = History(id);
    ASSERT_FALSE(history.empty());
    for (const v1::ReportEvent& event : history) EXPECT_EQ(event.text(), "") << event.type();
    EXPECT_EQ(history.back().type(), v1::REPORT_EVENT_TYPE_PURGED);
    EXPECT_EQ(history.back().actor(), testing::TestCredentials::PrincipalFor(v1::ROLE_ADMIN));
  }
  EXPECT_EQ(Get(duplicate).outcome(), v1::OUTCOME_DUPLICATE);
  EXPECT_EQ(Get(duplicate).duplicate_of(), nfa);
  for (const std::string& id : {police, open}) {
    v1::Report whole = Get(id);
    EXPECT_FALSE(whole.has_purge_time()) << id;
    EXPECT_THAT(whole.submission().description(), HasSubstr(kDescription));
    EXPECT_EQ(whole.submission().reporter().contact().name(), "Sam Parent");
  }
  EXPECT_EQ(History(police).back().text(), kNote);

  // A tombstone takes no further change.
  v1::AddNoteRequest note;
  note.set_report_id(nfa);
  note.set_text("more words");
  v1::ReportEvent added;
  grpc::Status refused = s_.desk->AddNote(As(v1::ROLE_SUPERVISOR).get(), note, &added);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("purged"));

  // The purge of each report is in the trail, the trail verifies, the statistics agree.
  bool audited = false;
  for (const v1::AuditEntry& e : AuditOf(nfa)) {
    audited |= absl::EndsWith(e.method(), "/PurgeExpiredReports") && e.result_code() == 0;
  }
  EXPECT_TRUE(audited);
  v1::VerifyAuditLogResponse verified;
  ASSERT_TRUE(s_.admin->VerifyAuditLog(As(v1::ROLE_ADMIN).get(), {}, &verified).ok());
  EXPECT_TRUE(verified.intact());
  EXPECT_EQ(Differences(), 0u) << "counters keep what the purged reports counted";

  // The old contents are in no file of the data directory (SSTs, logs, anything).
  s_.server.reset();
  EXPECT_FALSE(AnyFileHolds(dir_.Sub("db"), sealed));
  ASSERT_NO_FATAL_FAILURE(Start());  // and the tombstones read back after a restart
  EXPECT_TRUE(Get(nfa).has_purge_time());
}

// A purge stopped between purging and compacting (a crash; here the test-only option that
// leaves the compaction owed) leaves the old contents in the store's files: the next start
// compacts them out by itself, before any other purge, and says so in the log.
TEST_F(RetentionTest, APurgeInterruptedBeforeItsCompactionIsCompactedAtTheNextStart) {
  options_.purge_leaves_compaction_owed = true;
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string nfa = Submit(1), kept = Submit(2);
  ASSERT_NO_FATAL_FAILURE(Decide(nfa, v1::OUTCOME_NO_FURTHER_ACTION));
  const std::string sealed = SealedContents(nfa);  // stops the server: now in a table file
  ASSERT_NO_FATAL_FAILURE(Start());
  clock_.Advance(absl::Hours(24 * 31));
  v1::PurgeExpiredReportsResponse purged;
  ASSERT_TRUE(Purge(false, &purged).ok());
  EXPECT_EQ(purged.purged(), 1u);
  s_.server.reset();
  ASSERT_TRUE(AnyFileHolds(dir_.Sub("db"), sealed))
      << "the control: not compacted, as after a crash";

  options_.purge_leaves_compaction_owed = false;
  ::testing::internal::CaptureStderr();
  ASSERT_NO_FATAL_FAILURE(Start());  // the next start
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (AnyFileHolds(dir_.Sub("db"), sealed) && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_TRUE(Get(nfa).has_purge_time());
  EXPECT_THAT(Get(kept).submission().description(), HasSubstr(kDescription));
  s_.server.reset();
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(AnyFileHolds(dir_.Sub("db"), sealed));
  EXPECT_THAT(log, HasSubstr("retention: compacted the 1 id ranges an interrupted purge left"));

  ::testing::internal::CaptureStderr();
  ASSERT_NO_FATAL_FAILURE(Start());  // nothing is owed any more
  s_.server.reset();
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              ::testing::Not(HasSubstr("interrupted purge")));
}

TEST_F(RetentionTest, EveryAnswerNamesThePeriodsAndEveryEntryThePurgesTerms) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string id = Submit(1);
  ASSERT_NO_FATAL_FAILURE(Decide(id, v1::OUTCOME_NO_FURTHER_ACTION));
  const absl::Time decided = clock_.Now();
  clock_.Advance(absl::Hours(24 * 31));

  // Nothing decided before the bound: none would go, and the answer says what is in force.
  v1::PurgeExpiredReportsResponse none;
  ASSERT_TRUE(Purge(/*dry_run=*/true, &none, decided - absl::Hours(1)).ok());
  EXPECT_EQ(none.purged(), 0u);
  ASSERT_EQ(none.periods_size(), 2) << "no_further_action=30d,duplicate=7d";
  EXPECT_EQ(none.periods(0).outcome(), v1::OUTCOME_NO_FURTHER_ACTION) << "in outcome order";
  EXPECT_EQ(TimeUtil::DurationToSeconds(none.periods(0).period()), 30 * 86400);
  EXPECT_EQ(none.periods(1).outcome(), v1::OUTCOME_DUPLICATE);
  EXPECT_EQ(TimeUtil::DurationToSeconds(none.periods(1).period()), 7 * 86400);
  v1::PurgeExpiredReportsResponse dry;
  ASSERT_TRUE(Purge(true, &dry).ok());
  EXPECT_EQ(dry.purged(), 1u);
  EXPECT_EQ(dry.periods_size(), 2);
  v1::PurgeExpiredReportsResponse purged;
  const absl::Time bound = clock_.Now();
  ASSERT_TRUE(Purge(false, &purged, bound).ok());
  EXPECT_EQ(purged.purged(), 1u);
  EXPECT_EQ(purged.periods_size(), 2) << "a real run's answer too";
  // A refused call is audited with what it asked for, its invalid bound left out.
  v1::PurgeExpiredReportsRequest invalid;
  invalid.set_dry_run(true);
  invalid.mutable_closed_before()->set_seconds(-1);
  invalid.mutable_closed_before()->set_nanos(-5);
  v1::PurgeExpiredReportsResponse refused;
  EXPECT_EQ(s_.admin->PurgeExpiredReports(As(v1::ROLE_ADMIN).get(), invalid, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  const std::vector<v1::AuditEntry> calls = PurgeCalls();
  ASSERT_EQ(calls.size(), 4u);
  const auto micros = [](const google::protobuf::Timestamp& t) {
    return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
  };
  for (const v1::AuditEntry& e : calls) EXPECT_TRUE(e.has_purge()) << e.sequence();
  EXPECT_TRUE(calls[0].purge().dry_run());
  ASSERT_TRUE(calls[0].purge().has_closed_before());
  EXPECT_EQ(micros(calls[0].purge().closed_before()), decided - absl::Hours(1));
  EXPECT_TRUE(calls[1].purge().dry_run());
  EXPECT_FALSE(calls[1].purge().has_closed_before());
  EXPECT_FALSE(calls[2].purge().dry_run());
  EXPECT_EQ(micros(calls[2].purge().closed_before()), bound);
  EXPECT_EQ(calls[2].result_code(), 0);
  EXPECT_TRUE(calls[3].purge().dry_run());
  EXPECT_FALSE(calls[3].purge().has_closed_before());
  EXPECT_EQ(calls[3].result_code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  // The purged report's own entry carries the same terms; the trail still verifies.
  bool report_entry = false;
  for (const v1::AuditEntry& e : AuditOf(id)) {
    if (!absl::EndsWith(e.method(), "/PurgeExpiredReports")) continue;
    report_entry = true;
    EXPECT_FALSE(e.purge().dry_run());
    EXPECT_EQ(micros(e.purge().closed_before()), bound);
  }
  EXPECT_TRUE(report_entry);
  v1::VerifyAuditLogResponse verified;
  ASSERT_TRUE(s_.admin->VerifyAuditLog(As(v1::ROLE_ADMIN).get(), {}, &verified).ok());
  EXPECT_TRUE(verified.intact());
}

// A duplicate is evidence in its original's case: kept while the original is open, purged
// once that is decided too.
TEST_F(RetentionTest, ADuplicateIsKeptWhileItsOriginalIsOpen) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string original = Submit(1), duplicate = Submit(2);
  v1::ClaimNextReportResponse held;
  ASSERT_TRUE(s_.desk->ClaimNextReport(As(v1::ROLE_TRIAGER).get(), {}, &held).ok());
  ASSERT_EQ(held.report().id(), original);
  ASSERT_NO_FATAL_FAILURE(Decide(duplicate, v1::OUTCOME_DUPLICATE, original));
  v1::ReleaseReportRequest release;  // back in its queue, still open
  release.set_report_id(original);
  release.set_claim_id(held.claim().claim_id());
  release.set_reason("waiting for the school");
  v1::Report released;
  ASSERT_TRUE(s_.desk->ReleaseReport(As(v1::ROLE_TRIAGER).get(), release, &released).ok());
  clock_.Advance(absl::Hours(24 * 8));
  v1::PurgeExpiredReportsResponse kept;
  ASSERT_TRUE(Purge(false, &kept).ok());
  EXPECT_EQ(kept.purged(), 0u);
  EXPECT_FALSE(Get(duplicate).has_purge_time());

  ASSERT_NO_FATAL_FAILURE(Decide(original, v1::OUTCOME_REFERRED_TO_POLICE));
  v1::PurgeExpiredReportsResponse purged;
  ASSERT_TRUE(Purge(false, &purged).ok());
  EXPECT_EQ(purged.purged(), 1u);
  EXPECT_TRUE(Get(duplicate).has_purge_time());
  EXPECT_FALSE(Get(original).has_purge_time()) << "a police referral has no period";
}

// A report that cannot be opened (here its record damaged on disk) is skipped and named; the
// rest are purged and the run succeeds.
TEST_F(RetentionTest, ADamagedReportIsSkippedAndNamedAndTheRestPurged) {
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string damaged = Submit(1), fine = Submit(2);
  ASSERT_NO_FATAL_FAILURE(Decide(damaged, v1::OUTCOME_NO_FURTHER_ACTION));
  ASSERT_NO_FATAL_FAILURE(Decide(fine, v1::OUTCOME_NO_FURTHER_ACTION));
  s_.server.reset();
  {
    testing::RawDb raw(dir_.Sub("db"));
    const std::string key(storage::ReportId::Parse(damaged)->bytes());
    std::string value = raw.Get(storage::ColumnFamily::kReports, key);
    value[value.size() - 20] ^= 0x01;  // inside the sealed part: it no longer opens
    raw.Put(storage::ColumnFamily::kReports, key, value);
  }
  ASSERT_NO_FATAL_FAILURE(Start());
  clock_.Advance(absl::Hours(24 * 31));
  v1::PurgeExpiredReportsResponse response;
  grpc::Status status = Purge(false, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.purged(), 1u);
  EXPECT_EQ(response.failed(), 1u);
  ASSERT_EQ(response.failed_report_ids_size(), 1);
  EXPECT_EQ(response.failed_report_ids(0), damaged);
  EXPECT_TRUE(Get(fine).has_purge_time());
}

TEST_F(RetentionTest, TheDailyPurgeRunsByItselfAtItsTimeAndIsAudited) {
  options_.purge_daily_at = "03:00";
  ASSERT_NO_FATAL_FAILURE(Start());
  const std::string id = Submit(1);
  ASSERT_NO_FATAL_FAILURE(Decide(id, v1::OUTCOME_NO_FURTHER_ACTION));  // day 0, 09:00
  auto scheduled_runs = [&] {
    v1::GetAuditLogRequest request;
    request.set_principal("triage-server");
    request.set_page_size(1000);
    v1::GetAuditLogResponse response;
    EXPECT_TRUE(s_.admin->GetAuditLog(As(v1::ROLE_ADMIN).get(), request, &response).ok());
    int runs = 0;
    for (const v1::AuditEntry& e : response.entries()) {
      runs += e.method() == "server:retention-purge" && e.report_id().empty();
    }
    return runs;
  };
  auto await_runs = [&](int runs) {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (scheduled_runs() < runs && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(20));
    return scheduled_runs();
  };
  EXPECT_EQ(scheduled_runs(), 0);
  // Day 30, 04:00: the missed daily runs are made up by one run now, which finds the report
  // still inside its 30 days (until 09:00).
  clock_.Advance(absl::Hours(24 * 30 - 5));
  ASSERT_EQ(await_runs(1), 1);
  EXPECT_FALSE(Get(id).has_purge_time());
  // 10:00: past its period, but the next run is tomorrow at 03:00.
  clock_.Advance(absl::Hours(6));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(scheduled_runs(), 1);
  EXPECT_FALSE(Get(id).has_purge_time()) << "the schedule waits for its time";
  clock_.Advance(absl::Hours(17) + absl::Minutes(30));  // day 31, 03:30
  ASSERT_EQ(await_runs(2), 2);
  ASSERT_TRUE(Get(id).has_purge_time());
  EXPECT_EQ(History(id).back().actor(), "triage-server");
  bool audited = false;
  for (const v1::AuditEntry& e : AuditOf(id)) {
    audited |= e.method() == "server:retention-purge" && e.principal() == "triage-server" &&
               e.has_purge() && !e.purge().dry_run() && !e.purge().has_closed_before();
  }
  EXPECT_TRUE(audited);
}

TEST_F(RetentionTest, WithoutPeriodsAPurgeIsRefusedAndBadFlagsRefuseTheStart) {
  options_.retention = "";
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::PurgeExpiredReportsResponse response;
  grpc::Status refused = Purge(false, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(refused.error_message(), HasSubstr("--retention"));
  s_.server.reset();

  for (const auto& [retention, daily_at, named] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"no_further_action=12h", "", "no_further_action=12h"},
           {"not_an_outcome=30d", "", "not_an_outcome"},
           {"duplicate=7d,duplicate=9d", "", "duplicate=9d"},
           {"duplicate=seven", "", "duplicate=seven"},
           {"duplicate=7d", "25:00", "--purge_daily_at"},
       }) {
    options_.retention = retention;
    options_.purge_daily_at = daily_at;
    auto server = services::TriageServer::Start(options_);
    ASSERT_FALSE(server.ok()) << retention;
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument) << retention;
    EXPECT_THAT(server.status().message(), HasSubstr(named));
  }
}

}  // namespace
}  // namespace safeguarding
