// The triage desk's workflow (triage/desk.h) on a real store in a temp dir with a fake
// clock and the lease keeper off (the tests expire leases by calling ExpireDueClaims):
// claim order, ageing, leases (renew, release, expiry, restart), decisions, every refused
// transition with its code, who may act on whose claim, and the queue index against a
// full scan after thousands of random operations from several threads.
#include "triage/desk.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "storage/key_encoding.h"
#include "tests/support/bad_request.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"
#include "triage/intake.h"

namespace safeguarding::triage {
namespace {

using ::google::protobuf::util::TimeUtil;
using storage::ReportId;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

Caller Staff(const std::string& principal, v1::Role role = v1::ROLE_TRIAGER) {
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

void Standard(v1::ReportSubmission&) {}  // the sample: a 13-year-old, grooming
void Urgent(v1::ReportSubmission& s) { s.set_planned_meeting(true); }
void Immediate(v1::ReportSubmission& s) { s.set_immediate_danger(true); }
void FromParent(v1::ReportSubmission& s) {
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PARENT_CARER);
}

TEST_F(DeskTest, ClaimOrderIsImmediateFirstThenEarliestDueThenArrival) {
  // Reports in (at minutes 0, 1, 2, ...), claim order out (any queue).
  const std::string standard_0 = Submit(Standard);  // due 24h
  clock_.Advance(absl::Minutes(1));
  const std::string urgent_1 = Submit(Urgent);  // due 4h01
  clock_.Advance(absl::Minutes(1));
  const std::string immediate_2 = Submit(Immediate);  // due 1h02, queue "immediate"
  clock_.Advance(absl::Minutes(1));
  const std::string urgent_parent_3 = Submit([](auto& s) {  // due 4h03, another queue
    Urgent(s);
    FromParent(s);
  });
  clock_.Advance(absl::Minutes(1));
  const std::string immediate_4 = Submit(Immediate);        // due 1h04
  const std::string standard_same_time = Submit(Standard);  // due 24h04, after standard_0

  std::vector<std::string> order;
  for (std::string id = ClaimId(alice_); !id.empty(); id = ClaimId(alice_)) order.push_back(id);
  EXPECT_THAT(order, ElementsAreArray({immediate_2, immediate_4, urgent_1, urgent_parent_3,
                                       standard_0, standard_same_time}));
}

TEST_F(DeskTest, WithinOneQueueOnlyThatQueueIsClaimedAndAnUnknownQueueIsRefused) {
  const std::string child = Submit(Standard);
  const std::string parent = Submit(FromParent);
  EXPECT_EQ(ClaimId(alice_, "parent-carer"), parent);
  EXPECT_EQ(ClaimId(alice_, "parent-carer"), "") << "nothing else waits there";
  EXPECT_EQ(ClaimId(alice_, "professional"), "") << "a declared queue with nothing in it";
  EXPECT_EQ(Claim(alice_, "nowhere").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClaimId(alice_, "child"), child);

  // The refusal repeats the caller's name escaped, so a line break in it cannot forge a line.
  const absl::Status forged = Claim(alice_, "x\nAUDIT ok").status();
  EXPECT_EQ(forged.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(safeguarding::testing::ViolationOf(forged, "queue"), "no queue named \"x\\nAUDIT ok\"");
}

// A request naming queues stays cheap to refuse: past 64 names it is refused whole, and of
// its unknown names only the first 10 are repeated.
TEST_F(DeskTest, CheckingQueueNamesIsBoundedInWhatItEchoes) {
  EXPECT_TRUE(desk_->CheckQueues({"child", "parent-carer"}).ok());
  std::vector<std::string> unknown;
  for (int i = 0; i < 15; ++i) unknown.push_back(absl::StrCat("nowhere-", i));
  const std::optional<google::rpc::BadRequest> some =
      safeguarding::testing::BadRequestOf(desk_->CheckQueues(unknown));
  ASSERT_TRUE(some.has_value());
  ASSERT_EQ(some->field_violations_size(), 11);
  EXPECT_EQ(some->field_violations(9).description(), "no queue named \"nowhere-9\"");
  EXPECT_EQ(some->field_violations(10).description(), "and 5 more unknown queues");

  const std::vector<std::string> many(65, "child");
  EXPECT_EQ(safeguarding::testing::ViolationOf(desk_->CheckQueues(many), "queues"),
            "at most 64 queues, not 65");
}

TEST_F(DeskTest, ALongWaitingStandardReportOvertakesAFreshUrgentOneOnceDueSooner) {
  const std::string standard = Submit(Standard);  // due at 24h
  clock_.Advance(absl::Hours(21));
  const std::string urgent_later = Submit(Urgent);  // due at 25h: after the standard one
  clock_.Advance(absl::Hours(-2));  // (an URGENT report received at 19h would be due at 23h)
  const std::string urgent_sooner = Submit(Urgent);
  clock_.Advance(absl::Hours(2));
  EXPECT_EQ(ClaimId(alice_), urgent_sooner);
  EXPECT_EQ(ClaimId(alice_), standard) << "due at 24h, before the URGENT report due at 25h";
  EXPECT_EQ(ClaimId(alice_), urgent_later);
}

TEST_F(DeskTest, AClaimIsALeaseThatCanBeRenewedAndThatExpiresBackIntoItsPlace) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto claim = Claim(alice_, "", absl::Minutes(5));
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->report().id(), first);
  EXPECT_EQ(claim->claim().holder(), "alice");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(claim->claim().expire_time()),
            absl::ToUnixMicros(clock_.Now() + absl::Minutes(5)));
  EXPECT_TRUE(claim->report().claim().claim_id().empty()) << "the claim id is the holder's";
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_CLAIMED);

  clock_.Advance(absl::Minutes(4));
  auto renewed = Renew(alice_, claim->claim(), absl::Minutes(10));
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(renewed->expire_time()),
            absl::ToUnixMicros(clock_.Now() + absl::Minutes(10)));
  clock_.Advance(absl::Minutes(9));
  ExpireAndWait(0);  // still held
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_CLAIMED);

  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(Renew(alice_, claim->claim()).status().code(), absl::StatusCode::kFailedPrecondition)
      << "an ended lease cannot be renewed, even before the keeper has passed";
  ExpireAndWait(1);
  EXPECT_EQ(Read(first).state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(History(first).back().type(), v1::REPORT_EVENT_TYPE_CLAIM_EXPIRED);
  EXPECT_EQ(ClaimId(bob_), first) << "back in its place, ahead of the later report";
  EXPECT_EQ(ClaimId(bob_), second);
}

TEST_F(DeskTest, LeasesAreBoundedByTheServersDefaultMaximumAndMinimum) {
  EXPECT_EQ(*desk_->LeaseFor(nullptr), absl::Minutes(15));
  google::protobuf::Duration d;
  d.set_seconds(5);
  EXPECT_EQ(*desk_->LeaseFor(&d), kMinLease);
  d.set_seconds(24 * 3600);
  EXPECT_EQ(*desk_->LeaseFor(&d), absl::Hours(1));
  d.set_seconds(-1);
  EXPECT_EQ(desk_->LeaseFor(&d).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeskTest, AReleaseGivesTheReportBackWithItsReasonInTheHistory) {
  const std::string id = Submit(Standard);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(Release(alice_, id, claim->claim().claim_id(), "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a reason is required";
  auto released = Release(alice_, id, claim->claim().claim_id());
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(released->state(), v1::REPORT_STATE_QUEUED);
  EXPECT_FALSE(released->has_claim());
  const v1::ReportEvent last = History(id).back();
  EXPECT_EQ(last.type(), v1::REPORT_EVENT_TYPE_RELEASED);
  EXPECT_EQ(last.text(), "needs a Welsh speaker");
  EXPECT_EQ(last.actor(), "alice");
  EXPECT_EQ(ClaimId(bob_), id);
}

TEST_F(DeskTest, ADecisionByTheHolderClosesTheReportWithItsOutcome) {
  const std::string id = Submit(Standard);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  clock_.Advance(absl::Minutes(3));
  auto decided = Decide(alice_, id, claim->claim().claim_id());
  ASSERT_TRUE(decided.ok()) << decided.status();
  EXPECT_EQ(decided->state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(decided->outcome(), v1::OUTCOME_REFERRED_TO_POLICE);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(decided->closed_time()),
            absl::ToUnixMicros(clock_.Now()));
  const v1::Report stored = Read(id);
  EXPECT_EQ(stored.state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(stored.event_count(), 3u);
  std::vector<v1::ReportEvent> history = History(id);
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].type(), v1::REPORT_EVENT_TYPE_CLAIMED);
  EXPECT_EQ(history[2].type(), v1::REPORT_EVENT_TYPE_DECIDED);
  EXPECT_EQ(history[2].text(), "police informed; ref 4411");
  EXPECT_EQ(history[2].outcome(), v1::OUTCOME_REFERRED_TO_POLICE);
  EXPECT_EQ(ClaimId(bob_), "") << "a closed report is in no queue";
}

TEST_F(DeskTest, EveryTransitionTheWorkflowForbidsIsRefusedWithItsState) {
  // Arrival order is claim order here: claim the first, decide the second, leave the third.
  const std::string claimed = Submit(Standard);
  const std::string closed = Submit(Standard);
  const std::string queued = Submit(Standard);
  auto first = Claim(alice_);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->report().id(), claimed);
  const std::string claim_id = first->claim().claim_id();
  auto second = Claim(alice_);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->report().id(), closed);
  ASSERT_TRUE(Decide(alice_, closed, second->claim().claim_id()).ok());

  struct Refused {
    const char* what;
    absl::Status status;
    absl::StatusCode code;
    const char* says;
  };
  const Refused refused[] = {
      {"deciding a queued report", Decide(alice_, queued, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is QUEUED"},
      {"deciding a closed report", Decide(alice_, closed, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is CLOSED"},
      {"releasing a queued report", Release(alice_, queued, "clm_x").status(),
       absl::StatusCode::kFailedPrecondition, "is QUEUED"},
      {"a wrong claim id", Decide(alice_, claimed, "clm_wrong").status(),
       absl::StatusCode::kFailedPrecondition, "claim_id is not that claim's id"},
      {"someone else's claim", Release(bob_, claimed, claim_id).status(),
       absl::StatusCode::kFailedPrecondition, "is CLAIMED by alice"},
      {"renewing someone else's claim",
       [&] {
         v1::Claim theirs;
         theirs.set_report_id(claimed);
         theirs.set_claim_id(claim_id);
         return Renew(bob_, theirs).status();
       }(),
       absl::StatusCode::kFailedPrecondition, "is CLAIMED by alice"},
      {"no claim id from a triager", Decide(alice_, claimed, "").status(),
       absl::StatusCode::kInvalidArgument, "claim_id"},
      {"a report that does not exist",
       Decide(alice_, ReportId::Generate(clock_.Now()).ToString(), "clm_x").status(),
       absl::StatusCode::kNotFound, "not found"},
      {"a malformed id", Decide(alice_, "not-an-id", "clm_x").status(),
       absl::StatusCode::kInvalidArgument, "report_id"},
      {"no outcome", Decide(alice_, claimed, claim_id, v1::OUTCOME_UNSPECIFIED).status(),
       absl::StatusCode::kInvalidArgument, "outcome"},
      {"a duplicate without its original",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE).status(),
       absl::StatusCode::kInvalidArgument, "duplicate_of"},
      {"a duplicate of a report that does not exist",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE,
              ReportId::Generate(clock_.Now()).ToString())
           .status(),
       absl::StatusCode::kNotFound, "duplicate_of"},
      {"a duplicate of itself",
       Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE, claimed).status(),
       absl::StatusCode::kInvalidArgument, "duplicate_of"},
  };
  for (const Refused& r : refused) {
    EXPECT_EQ(r.status.code(), r.code) << r.what << ": " << r.status;
    EXPECT_THAT(std::string(r.status.message()), HasSubstr(r.says)) << r.what;
  }
  EXPECT_EQ(Read(claimed).state(), v1::REPORT_STATE_CLAIMED) << "nothing changed";

  auto duplicate = Decide(alice_, claimed, claim_id, v1::OUTCOME_DUPLICATE, closed);
  ASSERT_TRUE(duplicate.ok()) << duplicate.status();
  EXPECT_EQ(duplicate->duplicate_of(), closed);
}

TEST_F(DeskTest, ASupervisorMayReleaseAndDecideOthersClaimsButNotRenewThem) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto a = Claim(alice_);
  auto b = Claim(alice_);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(Decide(sam_, first, "").ok()) << "no claim id needed";
  auto released = Release(sam_, second, "", "alice is off sick");
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(History(second).back().actor(), "sam");
  auto mine = Claim(alice_);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(Renew(sam_, mine->claim()).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(DeskTest, ClaimsSurviveARestartAndAnExpiredOneComesBack) {
  const std::string long_lease = Submit(Standard);
  const std::string short_lease = Submit(Standard);
  auto held = Claim(alice_, "", absl::Hours(1));
  auto lapsing = Claim(bob_, "", absl::Minutes(1));
  ASSERT_TRUE(held.ok() && lapsing.ok());
  ASSERT_EQ(held->report().id(), long_lease);
  Reopen();
  clock_.Advance(absl::Minutes(2));
  EXPECT_EQ(store_->queue().Snapshot().claims.size(), 2u) << "both claims were reloaded";
  ExpireAndWait(1);
  EXPECT_EQ(Read(short_lease).state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(Read(long_lease).state(), v1::REPORT_STATE_CLAIMED);
  EXPECT_TRUE(Renew(alice_, held->claim()).ok()) << "the live claim's id still works";
  EXPECT_EQ(ClaimId(bob_), short_lease);
}

TEST_F(DeskTest, ReprioritisingRecomputesTheDueTimeAndThePlaceInTheQueue) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_URGENT, "").status().code(),
            absl::StatusCode::kInvalidArgument)
      << "a reason is required";
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_STANDARD).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "already STANDARD";
  auto changed = Reprioritise(alice_, second, v1::PRIORITY_URGENT);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(changed->triage().priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(changed->triage().due_time()),
            TimeUtil::TimestampToMicroseconds(changed->received_time()) +
                absl::ToInt64Microseconds(absl::Hours(4)));
  const v1::ReportEvent event = History(second).back();
  EXPECT_EQ(event.type(), v1::REPORT_EVENT_TYPE_REPRIORITISED);
  EXPECT_EQ(event.previous_priority(), v1::PRIORITY_STANDARD);
  EXPECT_EQ(event.priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(event.text(), "the child is 9, not 13");
  EXPECT_EQ(ClaimId(bob_), second) << "due sooner now";
  EXPECT_EQ(ClaimId(bob_), first);
}

TEST_F(DeskTest, AReprioritisedClaimKeepsItsNewPlaceWhenItComesBack) {
  const std::string first = Submit(Standard);
  const std::string second = Submit(Standard);
  auto mine = Claim(alice_);
  ASSERT_EQ(mine->report().id(), first);
  auto theirs = Claim(bob_);
  ASSERT_EQ(theirs->report().id(), second);
  EXPECT_EQ(Reprioritise(alice_, second, v1::PRIORITY_URGENT).status().code(),
            absl::StatusCode::kFailedPrecondition)
      << "bob holds it";
  EXPECT_TRUE(Reprioritise(sam_, second, v1::PRIORITY_IMMEDIATE).ok()) << "a supervisor may";
  EXPECT_TRUE(Reprioritise(alice_, first, v1::PRIORITY_ROUTINE).ok()) << "her own claim";
  ASSERT_TRUE(Release(alice_, first, mine->claim().claim_id()).ok());
  ASSERT_TRUE(Release(bob_, second, theirs->claim().claim_id()).ok());
  EXPECT_EQ(ClaimId(alice_), second) << "IMMEDIATE first";
  EXPECT_EQ(Read(first).triage().priority(), v1::PRIORITY_ROUTINE);
}

TEST_F(DeskTest, NotesAreSealedAtRestAndShownInTheHistory) {
  const std::string id = Submit(Standard);
  EXPECT_EQ(Note(alice_, id, "").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Note(alice_, ReportId::Generate(clock_.Now()).ToString(), "x").status().code(),
            absl::StatusCode::kNotFound);
  auto note = Note(alice_, id, "rang the school: the DSL knows the family");
  ASSERT_TRUE(note.ok()) << note.status();
  EXPECT_EQ(note->type(), v1::REPORT_EVENT_TYPE_NOTE_ADDED);
  EXPECT_EQ(note->sequence(), 2u);
  std::string raw;
  ASSERT_TRUE(store_->engine()
                  .db()
                  ->Get(rocksdb::ReadOptions(),
                        store_->engine().handle(storage::ColumnFamily::kEvents),
                        storage::EventKey(*ReportId::Parse(id), 2), &raw)
                  .ok());
  EXPECT_EQ(raw.find("the DSL knows"), std::string::npos) << "sealed at rest";

  auto claim = Claim(bob_);
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(Note(alice_, id, "me too").status().code(), absl::StatusCode::kFailedPrecondition)
      << "bob holds it";
  ASSERT_TRUE(Decide(bob_, id, claim->claim().claim_id()).ok());
  EXPECT_TRUE(Note(alice_, id, "the family moved away").ok()) << "a closed report takes notes";

  auto history = HistoryOf(sam_, id);
  ASSERT_TRUE(history.ok()) << history.status();
  std::vector<v1::ReportEventType> types;
  for (const auto& e : history->events()) types.push_back(e.type());
  EXPECT_THAT(types,
              ElementsAreArray({v1::REPORT_EVENT_TYPE_SUBMITTED, v1::REPORT_EVENT_TYPE_NOTE_ADDED,
                                v1::REPORT_EVENT_TYPE_CLAIMED, v1::REPORT_EVENT_TYPE_DECIDED,
                                v1::REPORT_EVENT_TYPE_NOTE_ADDED}));
  EXPECT_EQ(history->events(1).text(), "rang the school: the DSL knows the family");
  EXPECT_EQ(history->events(4).actor(), "alice");
  EXPECT_EQ(HistoryOf(sam_, ReportId::Generate(clock_.Now()).ToString()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(HistoryOf(sam_, "nope").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(DeskTest, QueueSummariesCountPrioritiesClaimsTheOldestWaitAndWhatIsPastDue) {
  const std::string urgent = Submit(Urgent);  // child queue, due 4h
  clock_.Advance(absl::Minutes(10));
  Submit(Standard);
  Submit(Standard);
  Submit(FromParent);
  Submit(Immediate);  // immediate queue, due 1h
  ASSERT_EQ(ClaimId(alice_, "child"), urgent);
  clock_.Advance(absl::Minutes(90));  // the IMMEDIATE report is past due
  Answer<v1::ListQueuesResponse> answer;
  desk_->ListQueues(alice_, answer.Callback());
  absl::StatusOr<v1::ListQueuesResponse> queues = answer.Get();
  ASSERT_TRUE(queues.ok()) << queues.status();
  std::map<std::string, v1::QueueSummary> by_name;
  for (const auto& q : queues->queues()) by_name[q.queue()] = q;
  ASSERT_EQ(by_name.size(), 4u) << "every queue of the policy, empty ones too";
  const v1::QueueSummary& child = by_name["child"];
  EXPECT_EQ(child.depth(), 2u);
  EXPECT_EQ(child.claimed(), 1u);
  EXPECT_EQ(child.by_priority(2).priority(), v1::PRIORITY_STANDARD);
  EXPECT_EQ(child.by_priority(2).depth(), 2u);
  EXPECT_EQ(child.oldest_wait().seconds(), 90 * 60);
  EXPECT_EQ(child.sla_breaches(), 0u);
  EXPECT_EQ(by_name["immediate"].depth(), 1u);
  EXPECT_EQ(by_name["immediate"].sla_breaches(), 1u);
  EXPECT_EQ(by_name["parent-carer"].depth(), 1u);
  EXPECT_EQ(by_name["professional"].depth(), 0u);
}

TEST_F(DeskTest, ListingsAreNewestFirstFilteredPagedAndCarryNoContents) {
  std::vector<std::string> ids;  // oldest first
  for (int i = 0; i < 12; ++i) {
    clock_.Advance(absl::Minutes(1));
    ids.push_back(Submit(i % 3 == 0 ? FromParent : (i % 4 == 0 ? Urgent : Standard)));
  }
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok());
  const std::string claimed = claim->report().id();

  v1::ListReportsRequest all;
  all.set_page_size(5);
  std::vector<std::string> listed;
  for (int page = 0; page < 5; ++page) {
    auto response = List(all);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const v1::Report& r : response->reports()) {
      listed.push_back(r.id());
      EXPECT_TRUE(r.submission().description().empty()) << "no contents in a listing";
      EXPECT_FALSE(r.submission().reporter().has_contact());
      EXPECT_TRUE(r.claim().claim_id().empty());
      if (r.id() == claimed) {
        EXPECT_EQ(r.state(), v1::REPORT_STATE_CLAIMED);
      }
    }
    if (response->next_page_token().empty()) break;
    all.set_page_token(response->next_page_token());
  }
  EXPECT_THAT(listed, ElementsAreArray(std::vector<std::string>(ids.rbegin(), ids.rend())));

  v1::ListReportsRequest parents;
  parents.set_reporter_type(v1::REPORTER_TYPE_PARENT_CARER);
  auto from_parents = List(parents);
  ASSERT_TRUE(from_parents.ok());
  EXPECT_EQ(from_parents->reports_size(), 4);  // i = 0, 3, 6, 9
  v1::ListReportsRequest claimed_only;
  claimed_only.set_state(v1::REPORT_STATE_CLAIMED);
  auto held = List(claimed_only);
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(held->reports_size(), 1);
  EXPECT_EQ(held->reports(0).id(), claimed);
  v1::ListReportsRequest window;
  *window.mutable_received_after() = Read(ids[2]).received_time();
  *window.mutable_received_before() = Read(ids[6]).received_time();
  auto between = List(window);
  ASSERT_TRUE(between.ok());
  EXPECT_THAT(std::vector<std::string>(
                  {between->reports(0).id(), between->reports(1).id(), between->reports(2).id()}),
              ElementsAreArray({ids[5], ids[4], ids[3]}));
  EXPECT_EQ(between->reports_size(), 3) << "both ends exclusive";

  v1::ListReportsRequest bad;
  bad.set_page_token("zz");
  EXPECT_EQ(List(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.clear_page_token();
  bad.set_page_size(-1);
  EXPECT_EQ(List(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// The index against a scan of storage: every QUEUED report waits in its place, every
// CLAIMED one has its claim, nothing else is in either, and the queue and claims
// families say the same.
void ExpectIndexMatchesAScan(storage::ReportStore& store, absl::Time at = absl::Now()) {
  std::set<std::string> waiting_expected, claims_expected, waiting_index, claims_index;
  rocksdb::DB* db = store.engine().db();
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(
      rocksdb::ReadOptions(), store.engine().handle(storage::ColumnFamily::kReports)));
  int reports = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++reports) {
    const ReportId id = *ReportId::FromBytes(it->key().ToString());
    absl::StatusOr<v1::Report> report = store.reports().Read(id);
    ASSERT_TRUE(report.ok()) << report.status();
    const std::string place = absl::StrCat(
        report->triage().queue(), "/", report->triage().priority(), "/",
        TimeUtil::TimestampToMicroseconds(report->triage().due_time()), "/", id.ToString());
    if (report->state() == v1::REPORT_STATE_QUEUED) waiting_expected.insert(place);
    if (report->state() == v1::REPORT_STATE_CLAIMED) {
      claims_expected.insert(
          absl::StrCat(place, "/", report->claim().holder(), "/",
                       TimeUtil::TimestampToMicroseconds(report->claim().expire_time())));
    }
  }
  ASSERT_GT(reports, 0);
  auto place_of = [](const storage::QueueEntry& e) {
    return absl::StrCat(e.queue, "/", e.tier, "/", e.due_micros, "/", e.id.ToString());
  };
  storage::QueueIndex::Contents contents = store.queue().Snapshot();
  for (const auto& e : contents.waiting) waiting_index.insert(place_of(e));
  for (const auto& c : contents.claims) {
    claims_index.insert(absl::StrCat(place_of(c.entry), "/", c.holder, "/", c.expire_micros));
  }
  EXPECT_EQ(waiting_index, waiting_expected);
  EXPECT_EQ(claims_index, claims_expected);
  std::set<std::string> family;
  ASSERT_TRUE(store.queue()
                  .Scan([&](const storage::QueueKeyParts& k) {
                    family.insert(absl::StrCat(k.queue, "/", k.tier, "/", k.due_micros, "/",
                                               k.id.ToString()));
                  })
                  .ok());
  EXPECT_EQ(family, waiting_expected) << "the queue family";

  // The summaries the index keeps count for itself agree with counting the scan.
  const int64_t now = absl::ToUnixMicros(at);
  std::map<std::string, std::vector<uint64_t>> expected_counts;  // tiers 1-4, claimed, past due
  for (const auto& e : contents.waiting) {
    auto& c = expected_counts.try_emplace(e.queue, std::vector<uint64_t>(6, 0)).first->second;
    ++c[e.tier - 1];
    if (e.due_micros < now) ++c[5];
  }
  for (const auto& claim : contents.claims) {
    ++expected_counts.try_emplace(claim.entry.queue, std::vector<uint64_t>(6, 0)).first->second[4];
  }
  std::map<std::string, std::vector<uint64_t>> counted;
  for (const storage::QueueCounts& c : store.queue().Counts({}, now)) {
    counted[c.queue] = {c.waiting_by_tier[1],
                        c.waiting_by_tier[2],
                        c.waiting_by_tier[3],
                        c.waiting_by_tier[4],
                        c.claimed,
                        c.past_due};
  }
  EXPECT_EQ(counted, expected_counts) << "per queue: tiers, claimed, past due";
}

TEST_F(DeskTest, AfterThousandsOfRandomOperationsTheIndexAgreesWithStorage) {
  constexpr int kThreads = 4, kOpsPerThread = 600;
  for (int i = 0; i < 200; ++i) {
    Submit(i % 3 == 0 ? Urgent : (i % 7 == 0 ? Immediate : Standard));
  }
  std::vector<std::thread> threads;
  std::atomic<int> decided{0}, claimed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      const Caller me =
          Staff(absl::StrCat("triager-", t), t == 0 ? v1::ROLE_SUPERVISOR : v1::ROLE_TRIAGER);
      std::vector<v1::Claim> mine;
      for (int op = 0; op < kOpsPerThread; ++op) {
        const int pick = random() % 10;
        if (pick < 4 || mine.empty()) {
          auto c = Claim(me, "", absl::Minutes(1 + random() % 5));
          if (c.ok() && c->has_claim()) {
            mine.push_back(c->claim());
            ++claimed;
          }
          continue;
        }
        const size_t which = random() % mine.size();
        const v1::Claim claim = mine[which];
        if (pick < 5) {
          (void)Renew(me, claim, absl::Minutes(1 + random() % 5));
        } else if (pick < 6) {
          (void)Reprioritise(me, claim.report_id(), static_cast<v1::Priority>(1 + random() % 4));
          (void)Note(me, claim.report_id(), "a note");
        } else if (pick < 8) {
          (void)Release(me, claim.report_id(), claim.claim_id());
          mine.erase(mine.begin() + which);
        } else {
          if (Decide(me, claim.report_id(), claim.claim_id()).ok()) ++decided;
          mine.erase(mine.begin() + which);
        }
        if (op % 50 == 0) {
          clock_.Advance(absl::Seconds(40));
          desk_->ExpireDueClaims();
        }
        if (op % 20 == 0 && t == 1) Submit(Standard);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Barrier();  // the last expiries have landed
  EXPECT_GT(claimed.load(), 100);
  EXPECT_GT(decided.load(), 20);
  ExpectIndexMatchesAScan(*store_);
  // Some reports due, some not yet: the past-due counts are checked on both sides.
  ExpectIndexMatchesAScan(*store_, clock_.Now() + absl::Hours(20));
  Reopen();
  ExpectIndexMatchesAScan(*store_);
  ExpectIndexMatchesAScan(*store_, clock_.Now() + absl::Hours(3));
}

// A write that fails leaves memory as storage is (the store answers UNAVAILABLE until it
// is restarted on a healthy disk, as docs/OPERATIONS.md says).
TEST_F(DeskTest, AFailedWriteChangesNothingInStorageOrInTheIndex) {
  const std::string id = Submit(Standard);
  const ReportId report = *ReportId::Parse(id);
  faulty_.fs->set_fail_wal(true);
  EXPECT_EQ(Claim(alice_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store_->queue().FindWaiting(report).has_value()) << "back in its place";
  faulty_.fs->set_fail_wal(false);
  Reopen();
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->report().id(), id);

  faulty_.fs->set_fail_wal(true);
  EXPECT_EQ(Decide(alice_, id, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Release(alice_, id, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Renew(alice_, claim->claim()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store_->queue().FindClaim(report).has_value()) << "the claim is still live";
  EXPECT_FALSE(store_->queue().FindWaiting(report).has_value());
  faulty_.fs->set_fail_wal(false);
  Reopen();
  ExpectIndexMatchesAScan(*store_);
  EXPECT_TRUE(Decide(alice_, id, claim->claim().claim_id()).ok()) << "the claim is intact";
  EXPECT_EQ(Read(id).state(), v1::REPORT_STATE_CLOSED);
  ExpectIndexMatchesAScan(*store_);
}

TEST_F(DeskTest, AReportThatCannotBeReadDoesNotBlockTheQueueBehindIt) {
  const std::string damaged = Submit(Immediate);  // first in claim order
  const std::string next = Submit(Standard);
  storage::Mutation m;
  m.Put(storage::ColumnFamily::kReports, std::string(ReportId::Parse(damaged)->bytes()),
        "not a report");
  WriteRaw(std::move(m));
  EXPECT_EQ(ClaimId(alice_), next);
  absl::MutexLock lock(&problems_mu_);
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_THAT(problems_[0], HasSubstr(damaged));
  EXPECT_THAT(problems_[0], HasSubstr("left out of claims"));
}

// The workflow record on disk is authenticated with its report id: an edit of the clear
// record (here the claim's holder, one byte) fails to open, so the report cannot be read or
// decided (DATA_LOSS), and nothing else changes.
TEST_F(DeskTest, AWorkflowRecordEditedOnDiskIsDataLossNotATransition) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok()) << claim.status();
  rocksdb::DB* db = store_->engine().db();
  rocksdb::ColumnFamilyHandle* workflow = store_->engine().handle(storage::ColumnFamily::kWorkflow);
  std::string raw;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), workflow, std::string(id.bytes()), &raw).ok());
  const size_t holder = raw.find("alice");
  ASSERT_NE(holder, std::string::npos) << "the holder is in the clear record";
  raw[holder + 4] = 'f';  // "alicf"
  storage::Mutation m;
  m.Put(storage::ColumnFamily::kWorkflow, std::string(id.bytes()), raw);
  WriteRaw(std::move(m));

  EXPECT_EQ(store_->reports().Read(id).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Decide(alice_, id_text, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(store_->queue().FindClaim(id).has_value()) << "the claim is untouched";
  std::string after;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), workflow, std::string(id.bytes()), &after).ok());
  EXPECT_EQ(after, raw) << "a refused decision writes nothing";
}

// The queue family holds one key per waiting report; were a report keyed twice (damage),
// the bulk load keeps the last key scanned (the greater one), as inserting one by one did,
// and counts it once.
TEST_F(DeskTest, AReportKeyedTwiceInTheQueueFamilyLoadsOnceUnderItsLastKey) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  const std::optional<storage::QueueEntry> first = store_->queue().FindWaiting(id);
  ASSERT_TRUE(first.has_value());
  storage::QueueEntry second = *first;
  second.due_micros += 1;  // same queue and tier, a later due time: a greater key
  storage::Mutation m;
  storage::QueueIndex::Add(m, second);
  WriteRaw(std::move(m));
  Reopen();
  const std::optional<storage::QueueEntry> loaded = store_->queue().FindWaiting(id);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->due_micros, second.due_micros);
  uint64_t waiting = 0;
  for (const storage::QueueCounts& c :
       store_->queue().Counts({}, absl::ToUnixMicros(clock_.Now()))) {
    waiting += c.waiting;
  }
  EXPECT_EQ(waiting, 1u);
  EXPECT_EQ(ClaimId(alice_), id_text);
  EXPECT_EQ(ClaimId(alice_), "") << "handed out once";
}

// A report keyed twice in different queues: where the first key (in scan order) was the
// only entry of its queue, that queue is not left behind as an empty one.
TEST_F(DeskTest, AQueueEmptiedByADuplicateKeyIsNotAQueueAfterLoading) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  const std::optional<storage::QueueEntry> real = store_->queue().FindWaiting(id);
  ASSERT_TRUE(real.has_value());
  storage::QueueEntry stray = *real;
  stray.queue = "aa";  // a shorter name: its keys sort first, so the real key wins
  storage::Mutation m;
  storage::QueueIndex::Add(m, stray);
  WriteRaw(std::move(m));
  Reopen();
  EXPECT_EQ(store_->queue().FindWaiting(id)->queue, real->queue);
  EXPECT_FALSE(store_->queue().HasQueue("aa"));
  for (const storage::QueueCounts& c : store_->queue().Counts({}, 0)) EXPECT_NE(c.queue, "aa");
  EXPECT_EQ(Claim(alice_, "aa").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace safeguarding::triage
