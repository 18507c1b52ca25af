// The intake flow (triage/intake.h) on a real store in a temp dir, with a fake clock: what
// an accepted submission becomes (report, first event, answer, audit entry), that a bad
// one stores nothing, idempotency per caller, and the content fingerprint.
#include "triage/intake.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "storage/counter_cells.h"
#include "storage/counter_keys.h"
#include "storage/report_id.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"
#include "triage/advice.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

constexpr char kSubmitPath[] = "/safeguarding.triage.v1.ReportIntake/SubmitReport";

Caller IntakeCaller(const std::string& principal) {
  Caller caller;
  caller.principal = principal;
  caller.role = v1::ROLE_INTAKE;
  caller.method = kSubmitPath;
  caller.peer = "ipv4:127.0.0.1:40000";
  return caller;
}

class IntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    intake_ = std::make_unique<Intake>(store_.get(), &policy_, &clock_);
  }

  // Submits and waits for the answer.
  absl::StatusOr<v1::SubmitReportResponse> Submit(const Caller& caller,
                                                  const v1::SubmitReportRequest& request) {
    absl::Notification done;
    absl::StatusOr<v1::SubmitReportResponse> answer;
    intake_->Submit(caller, request, [&](absl::StatusOr<v1::SubmitReportResponse> result) {
      answer = std::move(result);
      done.Notify();
    });
    done.WaitForNotification();
    return answer;
  }

  v1::Report Stored(const std::string& report_id) {
    std::optional<storage::ReportId> id = storage::ReportId::Parse(report_id);
    EXPECT_TRUE(id.has_value()) << report_id;
    absl::StatusOr<v1::Report> report = store_->reports().Read(*id);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : v1::Report();
  }

  std::vector<v1::AuditEntry> AuditEntries() {
    absl::StatusOr<storage::AuditPage> page = store_->audit().Read(storage::AuditQuery{});
    EXPECT_TRUE(page.ok()) << page.status();
    return page.ok() ? page->entries : std::vector<v1::AuditEntry>();
  }

  testing::TempDir dir_;
  common::FakeClock clock_{
      absl::FromCivil(absl::CivilSecond(2026, 3, 23, 9, 30, 0), absl::UTCTimeZone())};
  PolicyHolder policy_{TriagePolicy::Shipped()};
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<Intake> intake_;
};

// Counts of one (series, group, day) cell array, or empty.
std::vector<uint64_t> CountsAt(storage::ReportStore& store,
                               const std::vector<storage::GroupPart>& group, int32_t day) {
  std::string value;
  rocksdb::Status s = store.engine().db()->Get(
      rocksdb::ReadOptions(), store.engine().handle(storage::ColumnFamily::kStatistics),
      *storage::CounterKey(kReceivedSeries, group, day), &value);
  if (!s.ok()) return {};
  return storage::DecodeCounterCells(value).value_or(std::vector<uint64_t>{});
}

// Every accepted report adds one, in its own batch, to the hour it was received in each
// of its groups: all reports, each dimension's value, and reporter type paired with each.
TEST_F(IntakeTest, AnAcceptedReportIsCountedInItsHourForEveryGroupItIsIn) {
  v1::SubmitReportRequest child = testing::ValidRequest("c1");
  child.mutable_report()->mutable_reporter()->set_type(v1::REPORTER_TYPE_CHILD);
  child.mutable_report()->set_child_age(9);
  child.mutable_report()->set_region("Merseyside");  // in the policy's statistics_regions
  child.mutable_report()->clear_categories();
  child.mutable_report()->add_categories(v1::CONCERN_CATEGORY_GROOMING);
  child.mutable_report()->add_categories(v1::CONCERN_CATEGORY_INAPPROPRIATE_CONTENT);
  ASSERT_TRUE(Submit(IntakeCaller("web-form"), child).ok());
  child.set_request_id("c2");
  ASSERT_TRUE(Submit(IntakeCaller("web-form"), child).ok());
  v1::SubmitReportRequest teacher = testing::ValidRequest("t1");
  teacher.mutable_report()->mutable_reporter()->set_type(v1::REPORTER_TYPE_PROFESSIONAL);
  teacher.mutable_report()->mutable_reporter()->set_professional_role(
      v1::PROFESSIONAL_ROLE_TEACHER);
  teacher.mutable_report()->clear_child_age();
  teacher.mutable_report()->set_region("St Mary's, Year 4");  // free text: counted as "other"
  ASSERT_TRUE(Submit(IntakeCaller("web-form"), teacher).ok());
  clock_.Advance(absl::Hours(1));  // 10:30: the next hour's cell
  ASSERT_TRUE(Submit(IntakeCaller("web-form"), testing::ValidRequest("late")).ok());
  child.set_request_id("c1");  // a retry: answered from the request log, not counted again
  ASSERT_TRUE(Submit(IntakeCaller("web-form"), child).ok());

  const int32_t day = UtcDay(clock_.Now());  // 2026-03-23
  auto hour = [](const std::vector<uint64_t>& cells, size_t h) {
    return h < cells.size() ? cells[h] : 0;
  };
  using storage::GroupPart;
  const GroupPart child_type{v1::DIMENSION_REPORTER_TYPE, "1"};
  const GroupPart professional{v1::DIMENSION_REPORTER_TYPE, "3"};
  EXPECT_EQ(hour(CountsAt(*store_, {}, day), 9), 3u);
  EXPECT_EQ(hour(CountsAt(*store_, {}, day), 10), 1u);
  EXPECT_EQ(hour(CountsAt(*store_, {child_type}, day), 9), 2u);
  EXPECT_EQ(hour(CountsAt(*store_, {professional}, day), 9), 1u);
  EXPECT_EQ(hour(CountsAt(*store_, {child_type, {v1::DIMENSION_CHILD_AGE_BAND, "8-10"}}, day), 9),
            2u);
  EXPECT_EQ(
      hour(CountsAt(*store_, {professional, {v1::DIMENSION_CHILD_AGE_BAND, "unknown"}}, day), 9),
      1u);
  EXPECT_TRUE(CountsAt(*store_, {{v1::DIMENSION_CHILD_AGE_BAND, "8-10"}}, day).empty())
      << "another dimension than the reporter type alone is a sum of pairs, not a key";
  EXPECT_EQ(hour(CountsAt(*store_, {child_type, {v1::DIMENSION_REGION, "Merseyside"}}, day), 9),
            2u);
  EXPECT_EQ(hour(CountsAt(*store_, {professional, {v1::DIMENSION_REGION, "other"}}, day), 9), 1u);
  EXPECT_TRUE(CountsAt(*store_, {{v1::DIMENSION_REGION, "St Mary's, Year 4"}}, day).empty())
      << "a region the policy does not list never becomes a counter key";
  EXPECT_EQ(hour(CountsAt(*store_,
                          {professional,
                           {v1::DIMENSION_PROFESSIONAL_ROLE,
                            absl::StrCat(int{v1::PROFESSIONAL_ROLE_TEACHER})}},
                          day),
                 9),
            1u);
  const std::string grooming = absl::StrCat(int{v1::CONCERN_CATEGORY_GROOMING});
  const std::string inappropriate = absl::StrCat(int{v1::CONCERN_CATEGORY_INAPPROPRIATE_CONTENT});
  EXPECT_EQ(hour(CountsAt(*store_, {child_type, {v1::DIMENSION_CATEGORY, grooming}}, day), 9), 2u);
  EXPECT_EQ(hour(CountsAt(*store_, {child_type, {v1::DIMENSION_CATEGORY, inappropriate}}, day), 9),
            2u)
      << "a report with two categories counts in both";
  EXPECT_EQ(hour(CountsAt(*store_, {child_type, {v1::DIMENSION_QUEUE, "child"}}, day), 9), 2u);
  EXPECT_TRUE(CountsAt(*store_, {}, day - 1).empty()) << "nothing on another day";
}

TEST_F(IntakeTest, AnAcceptedSubmissionIsStoredTriagedAnsweredAndAudited) {
  const v1::SubmitReportRequest request = testing::ValidRequest("req-1");
  absl::StatusOr<v1::SubmitReportResponse> answer = Submit(IntakeCaller("web-form"), request);
  ASSERT_TRUE(answer.ok()) << answer.status();

  // The answer: an id made for the received time, which is the clock's, and the advice.
  std::optional<storage::ReportId> id = storage::ReportId::Parse(answer->report_id());
  ASSERT_TRUE(id.has_value()) << answer->report_id();
  EXPECT_EQ(id->time(), clock_.Now());
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(answer->received_time()),
            absl::ToUnixMicros(clock_.Now()));
  EXPECT_EQ(answer->advice(), AdviceFor(request.report()));
  EXPECT_FALSE(answer->advice().empty());

  // The report: the submission as sent, the policy's assessment, queued, from intake.
  const v1::Report report = Stored(answer->report_id());
  EXPECT_EQ(report.id(), answer->report_id());
  EXPECT_TRUE(MessageDifferencer::Equals(report.submission(), request.report()));
  EXPECT_TRUE(MessageDifferencer::Equals(report.triage(),
                                         policy_.Get()->Evaluate(request.report(), clock_.Now())));
  EXPECT_EQ(report.state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(report.source(), v1::REPORT_SOURCE_INTAKE);
  EXPECT_EQ(report.event_count(), 1);
  EXPECT_EQ(report.received_time(), answer->received_time());

  // Its history begins with the submission, by the caller.
  absl::StatusOr<std::vector<v1::ReportEvent>> events = store_->reports().ReadEvents(*id);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  const v1::ReportEvent& event = (*events)[0];
  EXPECT_EQ(event.type(), v1::REPORT_EVENT_TYPE_SUBMITTED);
  EXPECT_EQ(event.sequence(), 1);
  EXPECT_EQ(event.actor(), "web-form");
  EXPECT_EQ(event.state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(event.priority(), report.triage().priority());
  EXPECT_EQ(event.time(), answer->received_time());

  // The audit trail names who submitted which report, and the outcome.
  const std::vector<v1::AuditEntry> entries = AuditEntries();
  ASSERT_EQ(entries.size(), 2u) << "the trail's key change, then the submission";
  const v1::AuditEntry& entry = entries[1];
  EXPECT_EQ(entry.principal(), "web-form");
  EXPECT_EQ(entry.role(), v1::ROLE_INTAKE);
  EXPECT_EQ(entry.method(), kSubmitPath);
  EXPECT_EQ(entry.report_id(), answer->report_id());
  EXPECT_EQ(entry.result_code(), 0);
  EXPECT_EQ(entry.peer(), "ipv4:127.0.0.1:40000");
}

TEST_F(IntakeTest, AnInvalidSubmissionIsRefusedAtOnceAndStoresNothing) {
  v1::SubmitReportRequest request = testing::ValidRequest("req-bad");
  request.mutable_report()->clear_categories();
  request.mutable_report()->set_child_age(42);
  bool answered_inline = false;
  absl::StatusOr<v1::SubmitReportResponse> answer;
  intake_->Submit(IntakeCaller("web-form"), request,
                  [&](absl::StatusOr<v1::SubmitReportResponse> result) {
                    answer = std::move(result);
                    answered_inline = true;
                  });
  ASSERT_TRUE(answered_inline) << "a refusal needs no disk and must not wait for it";
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(answer.status().message(), HasSubstr("categories"));
  EXPECT_THAT(answer.status().message(), HasSubstr("child_age"));
  EXPECT_EQ(AuditEntries().size(), 1u) << "only the trail's key change";

  // The request id was not taken: the corrected submission goes through under it.
  absl::StatusOr<v1::SubmitReportResponse> retry =
      Submit(IntakeCaller("web-form"), testing::ValidRequest("req-bad"));
  EXPECT_TRUE(retry.ok()) << retry.status();
}

TEST_F(IntakeTest, RequestIdsAreScopedToTheCaller) {
  const v1::SubmitReportRequest request = testing::ValidRequest("shared-id");
  absl::StatusOr<v1::SubmitReportResponse> first = Submit(IntakeCaller("web-form"), request);
  ASSERT_TRUE(first.ok()) << first.status();

  clock_.Advance(absl::Seconds(5));
  absl::StatusOr<v1::SubmitReportResponse> retry = Submit(IntakeCaller("web-form"), request);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->report_id(), first->report_id()) << "a retry gets the first answer";
  EXPECT_EQ(retry->received_time(), first->received_time());

  absl::StatusOr<v1::SubmitReportResponse> other = Submit(IntakeCaller("mobile-app"), request);
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_NE(other->report_id(), first->report_id())
      << "another front end's request id is its own, not a retry of this one";

  v1::SubmitReportRequest changed = request;
  changed.mutable_report()->set_description("something else happened");
  absl::StatusOr<v1::SubmitReportResponse> conflict = Submit(IntakeCaller("web-form"), changed);
  EXPECT_EQ(conflict.status().code(), absl::StatusCode::kAlreadyExists) << conflict.status();
}

TEST_F(IntakeTest, FieldsTheServerDoesNotKnowAreNotStored) {
  v1::SubmitReportRequest request = testing::ValidRequest("req-unknown");
  // A newer client's field 999, e.g. an attachment this server cannot validate or encrypt.
  request.mutable_report()
      ->GetReflection()
      ->MutableUnknownFields(request.mutable_report())
      ->AddLengthDelimited(999, "not validated, not encrypted");
  absl::StatusOr<v1::SubmitReportResponse> answer = Submit(IntakeCaller("web-form"), request);
  ASSERT_TRUE(answer.ok()) << answer.status();
  const v1::Report report = Stored(answer->report_id());
  EXPECT_TRUE(report.submission().GetReflection()->GetUnknownFields(report.submission()).empty());
  EXPECT_THAT(report.submission().SerializeAsString(), ::testing::Not(HasSubstr("not validated")));
}

TEST(IntakeFingerprintTest, EqualContentHasEqualFingerprintsAndAnyChangeAnother) {
  const v1::ReportSubmission a = testing::ValidSubmission();
  v1::ReportSubmission same = testing::ValidSubmission();
  EXPECT_EQ(Intake::Fingerprint(a), Intake::Fingerprint(same));
  EXPECT_EQ(Intake::Fingerprint(a).size(), 32u);

  std::vector<v1::ReportSubmission> changed(4, a);
  changed[0].set_description(a.description() + " ");
  changed[1].set_child_age(a.child_age() + 1);
  changed[2].set_immediate_danger(!a.immediate_danger());
  changed[3].mutable_reporter()->mutable_contact()->set_name("someone");
  for (const v1::ReportSubmission& c : changed) {
    EXPECT_NE(Intake::Fingerprint(c), Intake::Fingerprint(a)) << c.ShortDebugString();
  }
}

}  // namespace
}  // namespace safeguarding::triage
