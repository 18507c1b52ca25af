// DeskTest: the triage desk (triage/desk.h) on a real store in a temp dir, with a fake clock
// and the lease keeper off (the tests expire leases by calling ExpireDueClaims); shared by
// desk_test.cc (the workflow) and desk_index_test.cc (the queue index against storage).
#ifndef SAFEGUARDING_TESTS_UNIT_DESK_FIXTURE_H_
#define SAFEGUARDING_TESTS_UNIT_DESK_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"
#include "triage/desk.h"
#include "triage/intake.h"

namespace safeguarding::triage::desk_testing {

using ::google::protobuf::util::TimeUtil;
using storage::ReportId;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

inline Caller Staff(const std::string& principal, v1::Role role = v1::ROLE_TRIAGER) {
  return Caller{principal, role, "/safeguarding.triage.v1.TriageDesk/Test", "ipv4:127.0.0.1:1"};
}

// Waits for an asynchronous answer.
template <typename T>
class Answer {
 public:
  Desk::Done<T> Callback() {
    return [this](absl::StatusOr<T> result) {
      result_ = std::move(result);
      done_.Notify();
    };
  }
  absl::StatusOr<T> Get() {
    done_.WaitForNotification();
    return result_;
  }

 private:
  absl::Notification done_;
  absl::StatusOr<T> result_;
};

class DeskTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto store =
        storage::ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db"), faulty_.env.get()));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    intake_ = std::make_unique<Intake>(store_.get(), &policy_, &clock_);
    desk_ = std::make_unique<Desk>(
        store_.get(), &policy_, &clock_,
        DeskOptions{.run_lease_keeper = false, .report_problem = [this](const std::string& what) {
                      absl::MutexLock lock(&problems_mu_);
                      problems_.push_back(what);
                    }});
  }
  void Reopen() {
    desk_.reset();
    intake_.reset();
    store_.reset();
    Open();
  }

  // Submits a report (the sample, changed by `change`) and returns its id. Each arrives a
  // millisecond after the one before, so arrival order is well defined.
  std::string Submit(const std::function<void(v1::ReportSubmission&)>& change = nullptr) {
    clock_.Advance(absl::Milliseconds(1));
    v1::SubmitReportRequest request = testing::ValidRequest(absl::StrCat("r-", ++submitted_));
    if (change) change(*request.mutable_report());
    Answer<v1::SubmitReportResponse> answer;
    intake_->Submit(Staff("intake-app", v1::ROLE_INTAKE), request, answer.Callback());
    absl::StatusOr<v1::SubmitReportResponse> response = answer.Get();
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->report_id() : "";
  }

  absl::StatusOr<v1::ClaimNextReportResponse> Claim(const Caller& who,
                                                    const std::string& queue = "",
                                                    absl::Duration lease = absl::ZeroDuration()) {
    v1::ClaimNextReportRequest request;
    request.set_queue(queue);
    if (lease > absl::ZeroDuration()) {
      request.mutable_lease()->set_seconds(absl::ToInt64Seconds(lease));
    }
    Answer<v1::ClaimNextReportResponse> answer;
    desk_->ClaimNextReport(who, request, answer.Callback());
    return answer.Get();
  }
  // Writes `m` straight through the committer (as damage or an edit on disk would land),
  // bypassing the desk, and waits until it is durable.
  void WriteRaw(storage::Mutation m) {
    absl::Notification written;
    absl::Status status;
    store_->engine().committer().Commit(std::move(m), [&](absl::Status s) {
      status = s;
      written.Notify();
    });
    written.WaitForNotification();
    ASSERT_TRUE(status.ok()) << status;
  }
  // The id claimed, "" when nothing waited.
  std::string ClaimId(const Caller& who, const std::string& queue = "") {
    absl::StatusOr<v1::ClaimNextReportResponse> r = Claim(who, queue);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() && r->has_report() ? r->report().id() : "";
  }
  absl::StatusOr<v1::Claim> Renew(const Caller& who, const v1::Claim& claim,
                                  absl::Duration lease = absl::ZeroDuration()) {
    v1::RenewClaimRequest request;
    request.set_report_id(claim.report_id());
    request.set_claim_id(claim.claim_id());
    if (lease > absl::ZeroDuration()) {
      request.mutable_lease()->set_seconds(absl::ToInt64Seconds(lease));
    }
    Answer<v1::Claim> answer;
    desk_->RenewClaim(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::Report> Release(const Caller& who, const std::string& report_id,
                                     const std::string& claim_id,
                                     const std::string& reason = "needs a Welsh speaker") {
    v1::ReleaseReportRequest request;
    request.set_report_id(report_id);
    request.set_claim_id(claim_id);
    request.set_reason(reason);
    Answer<v1::Report> answer;
    desk_->ReleaseReport(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::Report> Decide(const Caller& who, const std::string& report_id,
                                    const std::string& claim_id,
                                    v1::Outcome outcome = v1::OUTCOME_REFERRED_TO_POLICE,
                                    const std::string& duplicate_of = "") {
    v1::RecordDecisionRequest request;
    request.set_report_id(report_id);
    request.set_claim_id(claim_id);
    request.set_outcome(outcome);
    request.set_note("police informed; ref 4411");
    request.set_duplicate_of(duplicate_of);
    Answer<v1::Report> answer;
    desk_->RecordDecision(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::Report> Reprioritise(const Caller& who, const std::string& report_id,
                                          v1::Priority priority,
                                          const std::string& reason = "the child is 9, not 13") {
    v1::ReprioritiseRequest request;
    request.set_report_id(report_id);
    request.set_priority(priority);
    request.set_reason(reason);
    Answer<v1::Report> answer;
    desk_->Reprioritise(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::ReportEvent> Note(const Caller& who, const std::string& report_id,
                                       const std::string& text) {
    v1::AddNoteRequest request;
    request.set_report_id(report_id);
    request.set_text(text);
    Answer<v1::ReportEvent> answer;
    desk_->AddNote(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::GetReportHistoryResponse> HistoryOf(const Caller& who,
                                                         const std::string& report_id) {
    v1::GetReportHistoryRequest request;
    request.set_report_id(report_id);
    Answer<v1::GetReportHistoryResponse> answer;
    desk_->GetReportHistory(who, request, answer.Callback());
    return answer.Get();
  }
  absl::StatusOr<v1::ListReportsResponse> List(v1::ListReportsRequest request) {
    Answer<v1::ListReportsResponse> answer;
    desk_->ListReports(alice_, request, answer.Callback());
    return answer.Get();
  }
  v1::Report Read(const std::string& report_id) {
    absl::StatusOr<v1::Report> report = store_->reports().Read(*ReportId::Parse(report_id));
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : v1::Report();
  }
  std::vector<v1::ReportEvent> History(const std::string& report_id) {
    auto events = store_->reports().ReadEvents(*ReportId::Parse(report_id));
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *events : std::vector<v1::ReportEvent>();
  }
  // Expires due claims and waits (in real time, briefly) for the changes to be durable.
  void ExpireAndWait(size_t expected) {
    EXPECT_EQ(desk_->ExpireDueClaims(), expected);
    Barrier();
  }

  // Returns once every change queued before it is durable (the committer keeps order).
  void Barrier() {
    storage::Mutation m;
    m.Put(storage::ColumnFamily::kMeta, "test-barrier", "");
    absl::Notification done;
    store_->engine().committer().Commit(std::move(m), [&](absl::Status) { done.Notify(); });
    done.WaitForNotification();
  }

  absl::Mutex problems_mu_;
  std::vector<std::string> problems_;
  testing::TempDir dir_;
  testing::FaultyEnv faulty_;  // passes everything through until told to fail
  common::FakeClock clock_{
      absl::FromCivil(absl::CivilSecond(2026, 3, 23, 9, 0, 0), absl::UTCTimeZone())};
  PolicyHolder policy_{TriagePolicy::Shipped()};
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Desk> desk_;
  int submitted_ = 0;
  const Caller alice_ = Staff("alice");
  const Caller bob_ = Staff("bob");
  const Caller sam_ = Staff("sam", v1::ROLE_SUPERVISOR);
};

inline void Standard(v1::ReportSubmission&) {}  // the sample: a 13-year-old, grooming
inline void Urgent(v1::ReportSubmission& s) { s.set_planned_meeting(true); }
inline void Immediate(v1::ReportSubmission& s) { s.set_immediate_danger(true); }
inline void FromParent(v1::ReportSubmission& s) {
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PARENT_CARER);
}

}  // namespace safeguarding::triage::desk_testing

#endif  // SAFEGUARDING_TESTS_UNIT_DESK_FIXTURE_H_
