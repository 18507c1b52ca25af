// Statistics (triage/statistics.h) on a real store in a temp dir with a fake clock: the
// calendar in a zone with daylight saving, volumes from reports submitted through intake
// (zero-filled, grouped, filtered, suppressed for monitors), comparisons and change points
// on a season of counters with a known fall, and the refusals of what is not counted.
#include "triage/statistics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "storage/counter_keys.h"
#include "tests/support/bad_request.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"
#include "triage/desk.h"
#include "triage/import.h"
#include "triage/intake.h"
#include "triage/recount.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;

const absl::TimeZone& London() {
  static const absl::TimeZone* zone = [] {
    auto* z = new absl::TimeZone;
    EXPECT_TRUE(absl::LoadTimeZone("Europe/London", z));
    return z;
  }();
  return *zone;
}

absl::Time Utc(int y, int m, int d, int h = 0, int min = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, h, min, 0), absl::UTCTimeZone());
}

google::protobuf::Timestamp Ts(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

TEST(StatisticsCalendarTest, LondonDaysAreCutAtLocalMidnightAcrossDaylightSavingChanges) {
  absl::StatusOr<std::vector<Period>> days = PeriodsOverlapping(
      Utc(2026, 3, 28, 12), Utc(2026, 3, 30, 12), v1::GRANULARITY_DAY, London(), 100);
  ASSERT_TRUE(days.ok()) << days.status();
  ASSERT_EQ(days->size(), 3u);
  EXPECT_EQ((*days)[0].start, Utc(2026, 3, 28));                  // GMT
  EXPECT_EQ((*days)[1].end - (*days)[1].start, absl::Hours(23));  // clocks go forward
  EXPECT_EQ((*days)[2].start, Utc(2026, 3, 29, 23));              // BST midnight
  absl::StatusOr<std::vector<Period>> autumn = PeriodsOverlapping(
      Utc(2026, 10, 25, 1), Utc(2026, 10, 25, 2), v1::GRANULARITY_DAY, London(), 100);
  ASSERT_TRUE(autumn.ok());
  ASSERT_EQ(autumn->size(), 1u);
  EXPECT_EQ((*autumn)[0].end - (*autumn)[0].start, absl::Hours(25));  // clocks go back
}

TEST(StatisticsCalendarTest, WeeksStartOnMondayAndMonthsOnTheFirst) {
  // Thursday 1 January 2026: its ISO week began on Monday 29 December 2025.
  absl::StatusOr<std::vector<Period>> weeks = PeriodsOverlapping(
      Utc(2026, 1, 1, 12), Utc(2026, 1, 6), v1::GRANULARITY_WEEK, absl::UTCTimeZone(), 100);
  ASSERT_TRUE(weeks.ok());
  ASSERT_EQ(weeks->size(), 2u);
  EXPECT_EQ((*weeks)[0].first_day, absl::CivilDay(2025, 12, 29));
  EXPECT_EQ((*weeks)[1].first_day, absl::CivilDay(2026, 1, 5));
  absl::StatusOr<std::vector<Period>> months = PeriodsOverlapping(
      Utc(2026, 2, 15), Utc(2026, 3, 31, 23, 30), v1::GRANULARITY_MONTH, London(), 100);
  ASSERT_TRUE(months.ok());
  ASSERT_EQ(months->size(), 3u) << "31 March 23:30 UTC is 1 April in London (BST)";
  EXPECT_EQ((*months)[1].start, Utc(2026, 3, 1));
  EXPECT_EQ((*months)[2].start, Utc(2026, 3, 31, 23));
  EXPECT_FALSE(PeriodsOverlapping(Utc(2000, 1, 1), Utc(2026, 1, 1), v1::GRANULARITY_DAY,
                                  absl::UTCTimeZone(), 3700)
                   .ok());
}

TEST(StatisticsCalendarTest, HoursGoToTheLocalDayTheyBeginIn) {
  std::vector<Period> days = WholeDays(Utc(2026, 6, 1), Utc(2026, 6, 3), Utc(2027, 1, 1), London());
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].start, Utc(2026, 5, 31, 23));
  PeriodSums sums(days);
  std::vector<uint64_t> cells(24, 0);
  cells[22] = 5;  // 22:00 UTC on 31 May = 23:00 BST on 31 May: before the range
  cells[23] = 7;  // 23:00 UTC on 31 May = 00:00 BST on 1 June
  sums.AddDay(UtcDay(Utc(2026, 5, 31)), cells);
  std::vector<uint64_t> june2(24, 0);
  june2[23] = 11;  // 23:00 UTC on 2 June = 00:00 on 3 June: after the range
  june2[0] = 3;    // 00:00 UTC on 2 June = 01:00 BST on 2 June
  sums.AddDay(UtcDay(Utc(2026, 6, 2)), june2);
  EXPECT_EQ(sums.sums(), (std::vector<uint64_t>{7, 3}));
  EXPECT_EQ(WholeDays(Utc(2026, 6, 1), Utc(2026, 6, 3), Utc(2026, 6, 2, 12), London()).size(), 1u)
      << "a day not yet over is left out";
}

Caller Staff(const std::string& principal, v1::Role role) {
  Caller caller;
  caller.principal = principal;
  caller.role = role;
  caller.method = "/safeguarding.triage.v1.Statistics/GetVolumes";
  caller.peer = "ipv4:127.0.0.1:40000";
  return caller;
}

class StatisticsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    intake_ = std::make_unique<Intake>(store_.get(), &policy_, &clock_);
    statistics_ = std::make_unique<Statistics>(store_.get(), &policy_, &clock_);
  }

  void SubmitAt(absl::Time when, v1::ReporterType type, const std::string& region = "Kent") {
    clock_.Set(when);
    v1::SubmitReportRequest request = testing::ValidRequest(absl::StrCat("r", ++submitted_));
    v1::Reporter& reporter = *request.mutable_report()->mutable_reporter();
    reporter.set_type(type);
    if (type == v1::REPORTER_TYPE_PROFESSIONAL) {
      reporter.set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER);
    }
    request.mutable_report()->set_region(region);
    absl::Notification done;
    intake_->Submit(Staff("web-form", v1::ROLE_INTAKE), request,
                    [&](absl::StatusOr<v1::SubmitReportResponse> r) {
                      EXPECT_TRUE(r.ok()) << r.status();
                      done.Notify();
                    });
    done.WaitForNotification();
  }

  // Adds `count` received reports of `type` at noon UTC of `day` to the counters directly
  // (a season of data without a season of submissions).
  void CountDay(absl::CivilDay day, v1::ReporterType type, uint64_t count) {
    if (count == 0) return;
    const absl::Time noon = absl::FromCivil(absl::CivilHour(day) + 12, absl::UTCTimeZone());
    storage::Mutation m;
    for (const auto& group : std::vector<std::vector<storage::GroupPart>>{
             {}, {{v1::DIMENSION_REPORTER_TYPE, absl::StrCat(int{type})}}}) {
      m.Count(*storage::CounterKey(kReceivedSeries, group, UtcDay(noon)), UtcHour(noon), count);
    }
    absl::Notification written;
    store_->engine().committer().Commit(std::move(m), [&](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      written.Notify();
    });
    written.WaitForNotification();
  }

  template <typename Response, typename Request, typename Method>
  absl::StatusOr<Response> Ask(const Caller& caller, const Request& request, Method method) {
    absl::Notification done;
    absl::StatusOr<Response> answer;
    (statistics_.get()->*method)(caller, request, [&](absl::StatusOr<Response> r) {
      answer = std::move(r);
      done.Notify();
    });
    done.WaitForNotification();
    return answer;
  }

  absl::StatusOr<v1::GetVolumesResponse> Volumes(const Caller& caller,
                                                 const v1::GetVolumesRequest& request) {
    return Ask<v1::GetVolumesResponse>(caller, request, &Statistics::GetVolumes);
  }

  testing::TempDir dir_;
  common::FakeClock clock_{Utc(2026, 3, 23, 9, 30)};
  PolicyHolder policy_{TriagePolicy::Shipped()};
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<Statistics> statistics_;
  int submitted_ = 0;
  const Caller supervisor_ = Staff("sam", v1::ROLE_SUPERVISOR);
  const Caller monitor_ = Staff("dash", v1::ROLE_MONITOR);
};

const v1::VolumeSeries* SeriesOf(const v1::GetVolumesResponse& r, const std::string& value) {
  for (const v1::VolumeSeries& s : r.series()) {
    if (s.group_size() > 0 && s.group(0).value() == value) return &s;
  }
  return nullptr;
}

template <typename Request>
void AddFilter(Request& request, v1::Dimension dimension, const std::string& value) {
  v1::DimensionFilter& filter = *request.add_filters();
  filter.set_dimension(dimension);
  filter.add_values(value);
}

// A decision counts its outcome at the hour it is made, and its wait (receipt to first
// claim) and time to decision in the distributions GetQueueStatistics reads.
TEST_F(StatisticsTest, DecisionsFeedOutcomesWaitsAndTimesToDecision) {
  Desk desk(store_.get(), &policy_, &clock_);
  const Caller triager = Staff("tess", v1::ROLE_TRIAGER);
  for (int i = 0; i < 6; ++i) SubmitAt(Utc(2026, 3, 23, 9), v1::REPORTER_TYPE_CHILD);
  clock_.Set(Utc(2026, 3, 23, 9, 10));  // each waits 10 minutes
  for (int i = 0; i < 6; ++i) {
    absl::Notification claimed;
    v1::ClaimNextReportResponse claim;
    desk.ClaimNextReport(triager, v1::ClaimNextReportRequest(),
                         [&](absl::StatusOr<v1::ClaimNextReportResponse> r) {
                           ASSERT_TRUE(r.ok()) << r.status();
                           claim = *r;
                           claimed.Notify();
                         });
    claimed.WaitForNotification();
    ASSERT_TRUE(claim.has_report());
    clock_.Set(Utc(2026, 3, 23, 9, 20));  // decided 20 minutes after receipt
    v1::RecordDecisionRequest decide;
    decide.set_report_id(claim.report().id());
    decide.set_claim_id(claim.claim().claim_id());
    decide.set_outcome(i < 5 ? v1::OUTCOME_ADVICE_GIVEN : v1::OUTCOME_REFERRED_TO_POLICE);
    absl::Notification decided;
    desk.RecordDecision(triager, decide, [&](absl::StatusOr<v1::Report> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      decided.Notify();
    });
    decided.WaitForNotification();
    clock_.Set(Utc(2026, 3, 23, 9, 10));
  }
  clock_.Set(Utc(2026, 3, 24, 12));
  v1::GetVolumesRequest volumes;
  *volumes.mutable_start_time() = Ts(Utc(2026, 3, 23));
  *volumes.mutable_end_time() = Ts(Utc(2026, 3, 24));
  volumes.set_measure(v1::MEASURE_DECIDED);
  volumes.add_group_by(v1::DIMENSION_OUTCOME);
  absl::StatusOr<v1::GetVolumesResponse> outcomes = Volumes(supervisor_, volumes);
  ASSERT_TRUE(outcomes.ok()) << outcomes.status();
  ASSERT_NE(SeriesOf(*outcomes, "ADVICE_GIVEN"), nullptr);
  EXPECT_EQ(SeriesOf(*outcomes, "ADVICE_GIVEN")->total().value(), 5u);
  EXPECT_EQ(SeriesOf(*outcomes, "REFERRED_TO_POLICE")->total().value(), 1u);

  auto r = Ask<v1::GetQueueStatisticsResponse>(supervisor_, v1::GetQueueStatisticsRequest(),
                                               &Statistics::GetQueueStatistics);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::QueueStatistics* child = nullptr;
  for (const v1::QueueStatistics& q : r->queues()) {
    if (q.queue() == "child") child = &q;
  }
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(child->decided().value(), 6u);
  EXPECT_EQ(child->depth().value(), 0u);
  const double wait = TimeUtil::DurationToSeconds(child->wait().p50());
  const double decision = TimeUtil::DurationToSeconds(child->time_to_decision().p90());
  EXPECT_NEAR(wait, 600, 600 * 0.1) << "10 minutes, read from a bucket";
  EXPECT_NEAR(decision, 1200, 1200 * 0.1);
  auto shown = Ask<v1::GetQueueStatisticsResponse>(monitor_, v1::GetQueueStatisticsRequest(),
                                                   &Statistics::GetQueueStatistics);
  ASSERT_TRUE(shown.ok());
  for (const v1::QueueStatistics& q : shown->queues()) {
    for (const v1::PriorityStatistics& p : q.priorities()) {
      if (p.decided().value() == 0) {
        EXPECT_TRUE(p.time_to_decision().suppressed()) << q.queue() << " " << p.priority();
      }
    }
  }
}

TEST_F(StatisticsTest, ARecountInManyPassesFindsWhatOnePassFindsAndStopsWhenAsked) {
  for (int n = 0; n < 12; ++n) {
    SubmitAt(Utc(2026, 3, 20 + n % 3, 8 + n, 5),
             n % 2 ? v1::REPORTER_TYPE_CHILD : v1::REPORTER_TYPE_PROFESSIONAL,
             n % 3 ? "Kent" : "Atlantis");
  }
  CountDay(absl::CivilDay(2026, 3, 21), v1::REPORTER_TYPE_CHILD, 2);  // counted, never received
  const Recount one_pass(store_.get(), &policy_);
  const Recount many_passes(store_.get(), &policy_, /*counters_per_pass=*/7);
  v1::RecountStatisticsRequest request;
  request.set_max_differences(1000);
  absl::StatusOr<v1::RecountStatisticsResponse> once = one_pass.Run(request);
  absl::StatusOr<v1::RecountStatisticsResponse> passes = many_passes.Run(request);
  ASSERT_TRUE(once.ok()) << once.status();
  ASSERT_TRUE(passes.ok()) << passes.status();
  EXPECT_EQ(once->reports_scanned(), 12u);
  EXPECT_EQ(passes->reports_scanned(), 12u);
  EXPECT_GT(once->counters_compared(), 50u);
  EXPECT_EQ(passes->counters_compared(), once->counters_compared());
  EXPECT_EQ(once->differences(), 2u);  // the two groups CountDay wrote to, hour 12
  EXPECT_EQ(passes->differences(), once->differences());
  std::set<std::string> named;
  for (const v1::CounterDifference& d : passes->listed()) {
    EXPECT_EQ(d.cell(), 12u);
    EXPECT_EQ(d.stored(), d.recounted() + 2);
    named.insert(d.counter());
  }
  EXPECT_THAT(named, ::testing::UnorderedElementsAre("received all 2026-03-21",
                                                     "received REPORTER_TYPE=CHILD 2026-03-21"));
  // The caller went (asked from the first report on): nothing but CANCELLED.
  EXPECT_EQ(one_pass.Run(request, [] { return true; }).status().code(),
            absl::StatusCode::kCancelled);
}

// One recount at a time: a second asked while one runs is refused (RESOURCE_EXHAUSTED),
// and once the first ends the next runs. Answers come once audited (on the committer).
TEST_F(StatisticsTest, ASecondRecountWhileOneRunsIsRefusedAndRunsOnceItEnds) {
  SubmitAt(Utc(2026, 3, 20, 9), v1::REPORTER_TYPE_CHILD);
  Recount recount(store_.get(), &policy_);
  const Caller admin = Staff("admin-1", v1::ROLE_ADMIN);
  const v1::RecountStatisticsRequest request;
  auto answer = [&](const std::function<bool()>& stopped) {
    absl::Notification answered;
    absl::StatusOr<v1::RecountStatisticsResponse> out;
    recount.RecountStatistics(admin, request, stopped,
                              [&](absl::StatusOr<v1::RecountStatisticsResponse> r) {
                                out = std::move(r);
                                answered.Notify();
                              });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(30)));
    return out;
  };
  absl::Notification running, release;
  absl::StatusOr<v1::RecountStatisticsResponse> first;
  std::thread first_call([&] {
    first = answer([&] {  // asked at the first report: the recount holds here until released
      if (!running.HasBeenNotified()) running.Notify();
      release.WaitForNotification();
      return false;
    });
  });
  running.WaitForNotification();
  absl::StatusOr<v1::RecountStatisticsResponse> second = answer([] { return false; });
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted) << second.status();
  release.Notify();
  first_call.join();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->reports_scanned(), 1u);
  EXPECT_EQ(first->differences(), 0u);
  absl::StatusOr<v1::RecountStatisticsResponse> third = answer([] { return false; });
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->reports_scanned(), 1u);
}

TEST_F(StatisticsTest, VolumesAreZeroFilledDaysInTheZoneGroupedAndFiltered) {
  // 23:30 UTC on 28 March is still 28 March in London (GMT); on 1 April it is 2 April (BST).
  for (int i = 0; i < 6; ++i) SubmitAt(Utc(2026, 3, 28, 23, 30), v1::REPORTER_TYPE_CHILD);
  SubmitAt(Utc(2026, 4, 1, 23, 30), v1::REPORTER_TYPE_CHILD);
  SubmitAt(Utc(2026, 3, 30, 10), v1::REPORTER_TYPE_PROFESSIONAL, "Essex");
  v1::GetVolumesRequest request;
  *request.mutable_start_time() = Ts(Utc(2026, 3, 28));
  *request.mutable_end_time() = Ts(Utc(2026, 4, 2, 23));  // = 3 April 00:00 BST
  request.set_granularity(v1::GRANULARITY_DAY);
  request.set_time_zone("Europe/London");
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  absl::StatusOr<v1::GetVolumesResponse> r = Volumes(supervisor_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series_size(), 2) << "groups without reports are left out";
  const v1::VolumeSeries* child = SeriesOf(*r, "CHILD");
  ASSERT_NE(child, nullptr);
  ASSERT_EQ(child->points_size(), 6);  // 28 March .. 2 April
  std::vector<uint64_t> counts;
  for (const v1::VolumePoint& p : child->points()) counts.push_back(p.count().value());
  EXPECT_EQ(counts, (std::vector<uint64_t>{6, 0, 0, 0, 0, 1}));
  EXPECT_EQ(TimeOf(child->points(5).period_start()), Utc(2026, 4, 1, 23));
  EXPECT_EQ(child->total().value(), 7u);
  EXPECT_EQ(child->group(0).dimension(), v1::DIMENSION_REPORTER_TYPE);

  AddFilter(request, v1::DIMENSION_REGION, "Essex");
  r = Volumes(supervisor_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series_size(), 1);
  EXPECT_EQ(r->series(0).group(0).value(), "PROFESSIONAL");
  EXPECT_EQ(r->series(0).total().value(), 1u);
}

// Only the reporter type is counted alone; a count by another dimension alone is the sum of
// its pairs with every reporter type (volume_cells.h), so nothing may go missing from it.
TEST_F(StatisticsTest, ADimensionAloneSumsItsPairsWithEveryReporterType) {
  const absl::Time at = Utc(2026, 3, 23, 9);
  for (int i = 0; i < 3; ++i) SubmitAt(at, v1::REPORTER_TYPE_CHILD, "Essex");
  for (int i = 0; i < 2; ++i) SubmitAt(at, v1::REPORTER_TYPE_PROFESSIONAL, "Essex");
  SubmitAt(at, v1::REPORTER_TYPE_PARENT_CARER, "Essex");
  SubmitAt(at, v1::REPORTER_TYPE_OTHER_ADULT, "Essex");
  for (int i = 0; i < 4; ++i) SubmitAt(at, v1::REPORTER_TYPE_PARENT_CARER, "Kent");
  v1::GetVolumesRequest request;
  *request.mutable_start_time() = Ts(Utc(2026, 3, 23));
  *request.mutable_end_time() = Ts(Utc(2026, 3, 24));
  request.add_group_by(v1::DIMENSION_REGION);
  absl::StatusOr<v1::GetVolumesResponse> r = Volumes(supervisor_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series_size(), 2);
  ASSERT_NE(SeriesOf(*r, "Essex"), nullptr);
  ASSERT_NE(SeriesOf(*r, "Kent"), nullptr);
  EXPECT_EQ(SeriesOf(*r, "Essex")->total().value(), 7u) << "every reporter type's pair";
  EXPECT_EQ(SeriesOf(*r, "Kent")->total().value(), 4u);
  ASSERT_EQ(SeriesOf(*r, "Essex")->group_size(), 1) << "the reporter type is not a group";

  request.clear_group_by();  // a filter alone: the same sums
  AddFilter(request, v1::DIMENSION_REGION, "Essex");
  r = Volumes(supervisor_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->series_size(), 1);
  EXPECT_EQ(r->series(0).total().value(), 7u);

  request.clear_filters();  // by priority: each report has exactly one
  request.add_group_by(v1::DIMENSION_PRIORITY);
  r = Volumes(supervisor_, request);
  ASSERT_TRUE(r.ok()) << r.status();
  uint64_t total = 0;
  for (const v1::VolumeSeries& series : r->series()) total += series.total().value();
  EXPECT_EQ(total, 11u);
}

TEST_F(StatisticsTest, AMonitorSeesSmallCountsSuppressedAndASupervisorExactCounts) {
  for (int i = 0; i < 6; ++i) SubmitAt(Utc(2026, 3, 20, 10), v1::REPORTER_TYPE_CHILD);
  for (int i = 0; i < 2; ++i) SubmitAt(Utc(2026, 3, 21, 10), v1::REPORTER_TYPE_CHILD);
  for (int i = 0; i < 9; ++i) SubmitAt(Utc(2026, 3, 22, 10), v1::REPORTER_TYPE_CHILD);
  SubmitAt(Utc(2026, 3, 21, 11), v1::REPORTER_TYPE_PARENT_CARER);
  v1::GetVolumesRequest request;
  *request.mutable_start_time() = Ts(Utc(2026, 3, 20));
  *request.mutable_end_time() = Ts(Utc(2026, 3, 23));
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  absl::StatusOr<v1::GetVolumesResponse> exact = Volumes(supervisor_, request);
  absl::StatusOr<v1::GetVolumesResponse> shown = Volumes(monitor_, request);
  ASSERT_TRUE(exact.ok() && shown.ok());
  EXPECT_EQ(SeriesOf(*exact, "CHILD")->points(1).count().value(), 2u);
  EXPECT_EQ(SeriesOf(*exact, "PARENT_CARER")->total().value(), 1u);
  const v1::VolumeSeries* child = SeriesOf(*shown, "CHILD");
  EXPECT_TRUE(child->points(1).count().suppressed());
  EXPECT_EQ(child->points(1).count().value(), 0u);
  EXPECT_TRUE(child->points(0).count().suppressed())
      << "with the total shown, 17 - 6 - 9 would give the hidden 2 away";
  EXPECT_EQ(child->points(2).count().value(), 9u);
  EXPECT_EQ(child->total().value(), 17u);
  EXPECT_TRUE(SeriesOf(*shown, "PARENT_CARER")->total().suppressed());
  EXPECT_FALSE(SeriesOf(*exact, "PARENT_CARER")->total().suppressed());
}

TEST_F(StatisticsTest, WhatIsNotCountedIsRefusedNamingTheField) {
  v1::GetVolumesRequest request;
  absl::StatusOr<v1::GetVolumesResponse> r = Volumes(supervisor_, request);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("start_time"));
  *request.mutable_start_time() = Ts(Utc(2026, 3, 1));
  *request.mutable_end_time() = Ts(Utc(2026, 3, 2));
  request.set_time_zone("Europe/Nowhere");
  EXPECT_THAT(Volumes(supervisor_, request).status().message(), HasSubstr("time_zone"));
  request.set_time_zone("../../etc/passwd");
  EXPECT_THAT(Volumes(supervisor_, request).status().message(), HasSubstr("time_zone"));
  request.clear_time_zone();
  request.add_group_by(v1::DIMENSION_REGION);
  request.add_group_by(v1::DIMENSION_CATEGORY);
  EXPECT_THAT(Volumes(supervisor_, request).status().message(), HasSubstr("group_by"));
  request.clear_group_by();
  request.add_group_by(v1::DIMENSION_OUTCOME);
  EXPECT_THAT(Volumes(supervisor_, request).status().message(), HasSubstr("measure"));
  request.set_measure(v1::MEASURE_DECIDED);
  EXPECT_TRUE(Volumes(supervisor_, request).ok()) << "decisions are counted by outcome";
  request.clear_group_by();
  v1::DimensionFilter& f = *request.add_filters();
  f.set_dimension(v1::DIMENSION_REPORTER_TYPE);
  f.add_values("TEACHERS");
  EXPECT_THAT(Volumes(supervisor_, request).status().message(), HasSubstr("filters[0].values[0]"));
}

// An answer is bounded twice: groups x periods it holds, and counter groups x days it reads
// (a dimension alone reads each of its values with every reporter type).
TEST_F(StatisticsTest, AnAnswerTooLargeToHoldOrToReadIsRefusedSayingWhatToNarrow) {
  v1::GetVolumesRequest request;
  *request.mutable_start_time() = Ts(Utc(2025, 1, 1));
  *request.mutable_end_time() = Ts(Utc(2026, 1, 1));
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  request.add_group_by(v1::DIMENSION_REGION);  // every pair, 365 days: > 50,000 cells
  absl::StatusOr<v1::GetVolumesResponse> held = Volumes(supervisor_, request);
  EXPECT_EQ(held.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(testing::ViolationOf(held.status(), "group_by"), HasSubstr("groups x periods"));
  request.set_granularity(v1::GRANULARITY_MONTH);  // 12 periods: few enough cells
  EXPECT_TRUE(Volumes(supervisor_, request).ok()) << "a year by month";

  request.clear_group_by();
  request.add_group_by(v1::DIMENSION_REGION);           // each region with every reporter type
  *request.mutable_start_time() = Ts(Utc(2000, 1, 1));  // 26 years by month: few cells
  absl::StatusOr<v1::GetVolumesResponse> read = Volumes(supervisor_, request);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string why = testing::ViolationOf(read.status(), "group_by");
  EXPECT_THAT(why, HasSubstr("counter days per answer"));
  EXPECT_THAT(why, HasSubstr("x 9497 days asked"));
  request.clear_group_by();
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);  // a handful of counter groups
  EXPECT_TRUE(Volumes(supervisor_, request).ok()) << "26 years by reporter type";
}

v1::ImportedReport Historical(const std::string& source_id, absl::Time received) {
  v1::ImportedReport r;
  r.set_source_id(source_id);
  *r.mutable_received_time() = Ts(received);
  *r.mutable_submission() = testing::ValidRequest("unused").report();
  return r;
}

// ImportReports: per-item answers, idempotent on source_id, counted on the reports' own
// hours, decided ones closed and open ones queued.
TEST_F(StatisticsTest, ImportedReportsAreCountedOnTheirOwnHoursAndImportedOnce) {
  Importer importer(store_.get(), &policy_, &clock_);
  clock_.Set(Utc(2026, 3, 23, 12));
  v1::ImportReportsRequest request;
  v1::ImportedReport& decided = *request.add_reports() = Historical("old-1", Utc(2025, 6, 2, 10));
  decided.set_outcome(v1::OUTCOME_ADVICE_GIVEN);
  *decided.mutable_claim_time() = Ts(Utc(2025, 6, 2, 11));
  *decided.mutable_decision_time() = Ts(Utc(2025, 6, 3, 9));
  *request.add_reports() = Historical("old-2", Utc(2026, 3, 22, 8));  // still open
  v1::ImportedReport& bad = *request.add_reports() = Historical("old-3", Utc(2027, 1, 1));
  bad.mutable_submission()->mutable_reporter()->clear_type();
  *request.add_reports() = Historical("old-1", Utc(2025, 6, 2, 10));  // twice in one request
  auto import = [&](const v1::ImportReportsRequest& r) {
    absl::Notification done;
    absl::StatusOr<v1::ImportReportsResponse> answer;
    importer.ImportReports(Staff("migrator", v1::ROLE_ADMIN), r,
                           [&](absl::StatusOr<v1::ImportReportsResponse> a) {
                             answer = std::move(a);
                             done.Notify();
                           });
    done.WaitForNotification();
    return answer;
  };
  absl::StatusOr<v1::ImportReportsResponse> first = import(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->results_size(), 4);
  EXPECT_EQ(first->results(0).status(), v1::IMPORT_STATUS_IMPORTED);
  EXPECT_EQ(first->results(1).status(), v1::IMPORT_STATUS_IMPORTED);
  EXPECT_EQ(first->results(2).status(), v1::IMPORT_STATUS_REFUSED);
  EXPECT_THAT(
      first->results(2).fields(),
      ::testing::IsSupersetOf({"reports[2].received_time", "reports[2].submission.reporter.type"}));
  EXPECT_THAT(first->results(2).error(), HasSubstr("must not be in the future"));
  EXPECT_EQ(first->results(3).status(), v1::IMPORT_STATUS_REFUSED);
  EXPECT_THAT(first->results(3).error(), HasSubstr("twice"));

  absl::StatusOr<v1::ImportReportsResponse> again = import(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->results(0).status(), v1::IMPORT_STATUS_ALREADY_IMPORTED);
  EXPECT_EQ(again->results(0).report_id(), first->results(0).report_id());
  EXPECT_EQ(again->results(1).report_id(), first->results(1).report_id());

  absl::StatusOr<v1::Report> closed =
      store_->reports().Read(*storage::ReportId::Parse(first->results(0).report_id()));
  ASSERT_TRUE(closed.ok()) << closed.status();
  EXPECT_EQ(closed->state(), v1::REPORT_STATE_CLOSED);
  EXPECT_EQ(closed->source(), v1::REPORT_SOURCE_IMPORT);
  EXPECT_EQ(TimeOf(closed->received_time()), Utc(2025, 6, 2, 10));
  uint64_t waiting = 0;
  for (const storage::QueueCounts& c : store_->queue().Counts({}, 0)) waiting += c.waiting;
  EXPECT_EQ(waiting, 1u) << "only the open report is queued";

  v1::GetVolumesRequest volumes;
  *volumes.mutable_start_time() = Ts(Utc(2025, 6, 1));
  *volumes.mutable_end_time() = Ts(Utc(2025, 6, 5));
  absl::StatusOr<v1::GetVolumesResponse> received = Volumes(supervisor_, volumes);
  ASSERT_TRUE(received.ok());
  ASSERT_EQ(received->series_size(), 1);
  EXPECT_EQ(received->series(0).points(1).count().value(), 1u) << "2 June 2025, once";
  volumes.set_measure(v1::MEASURE_DECIDED);
  received = Volumes(supervisor_, volumes);
  ASSERT_TRUE(received.ok());
  EXPECT_EQ(received->series(0).points(2).count().value(), 1u) << "decided on 3 June";

  v1::ImportReportsRequest too_many;
  for (int i = 0; i <= kMaxImportBatch; ++i)
    *too_many.add_reports() = Historical("x", Utc(2025, 1, 1));
  EXPECT_EQ(import(too_many).status().code(), absl::StatusCode::kInvalidArgument);
}

// A season of daily counts: professionals weekday-heavy, falling 40% from 23 March;
// children flat. Counts are Poisson draws with a fixed seed, times a weekly pattern.
class SeasonTest : public StatisticsTest {
 protected:
  void SetUp() override {
    StatisticsTest::SetUp();
    std::mt19937_64 random(20200323);
    for (absl::CivilDay d = kStart; d < kEnd; ++d) {
      const bool weekend = WeekdayIndex(d) >= 5;
      const double professional = (weekend ? 15.0 : 80.0) * (d >= kChange ? 0.6 : 1.0);
      const double child = weekend ? 45.0 : 35.0;
      CountDay(d, v1::REPORTER_TYPE_PROFESSIONAL,
               std::poisson_distribution<uint64_t>(professional)(random));
      CountDay(d, v1::REPORTER_TYPE_CHILD, std::poisson_distribution<uint64_t>(child)(random));
    }
    clock_.Set(Utc(2026, 6, 1));
  }
  static constexpr absl::CivilDay kStart{2026, 1, 5};
  static constexpr absl::CivilDay kChange{2026, 3, 23};
  static constexpr absl::CivilDay kEnd{2026, 5, 18};
};

const v1::GroupComparison* ComparisonOf(const v1::CompareVolumesResponse& r,
                                        const std::string& value) {
  for (const v1::GroupComparison& g : r.groups()) {
    if (g.group(0).value() == value) return &g;
  }
  return nullptr;
}

TEST_F(SeasonTest, CompareVolumesSaysProfessionalsDroppedAndChildrenStayedStable) {
  v1::CompareVolumesRequest request;
  *request.mutable_baseline_start() = Ts(Utc(2026, 2, 2));
  *request.mutable_baseline_end() = Ts(Utc(2026, 3, 23));
  *request.mutable_comparison_start() = Ts(Utc(2026, 3, 23));
  *request.mutable_comparison_end() = Ts(Utc(2026, 5, 11));
  request.set_time_zone("Europe/London");
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  auto r = Ask<v1::CompareVolumesResponse>(supervisor_, request, &Statistics::CompareVolumes);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::GroupComparison* professional = ComparisonOf(*r, "PROFESSIONAL");
  const v1::GroupComparison* child = ComparisonOf(*r, "CHILD");
  ASSERT_NE(professional, nullptr);
  ASSERT_NE(child, nullptr);
  EXPECT_EQ(professional->verdict(), v1::VERDICT_SIGNIFICANT_DROP);
  EXPECT_NEAR(professional->percent_change(), -40, 6);
  EXPECT_LT(professional->p_value(), 1e-6);
  EXPECT_EQ(professional->baseline_days(), 49);
  EXPECT_EQ(child->verdict(), v1::VERDICT_STABLE) << child->p_value();
  EXPECT_NE(child->method(), "");
}

TEST_F(SeasonTest, DetectShiftsFindsTheDateForProfessionalsAndNoShiftForChildren) {
  v1::DetectShiftsRequest request;
  *request.mutable_start_time() = Ts(Utc(2026, 1, 5));
  *request.mutable_end_time() = Ts(Utc(2026, 5, 18));
  request.set_time_zone("Europe/London");
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  auto r = Ask<v1::DetectShiftsResponse>(supervisor_, request, &Statistics::DetectShifts);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->groups_size(), 2);
  for (const v1::GroupShift& g : r->groups()) {
    if (g.group(0).value() == "PROFESSIONAL") {
      EXPECT_TRUE(g.shift_detected());
      const absl::CivilDay found = absl::ToCivilDay(TimeOf(g.change_date()), London());
      EXPECT_LE(std::abs(found - kChange), 3) << found;
      EXPECT_NEAR(g.relative_change(), -0.4, 0.06);
    } else {
      EXPECT_EQ(g.group(0).value(), "CHILD");
      EXPECT_FALSE(g.shift_detected()) << g.p_value();
    }
  }
}

TEST_F(SeasonTest, AMonitorGetsTheVerdictButNotFiguresThatWouldGiveASmallCountAway) {
  CountDay(absl::CivilDay(2026, 3, 30), v1::REPORTER_TYPE_OTHER_ADULT, 3);
  v1::CompareVolumesRequest request;
  *request.mutable_baseline_start() = Ts(Utc(2026, 2, 2));
  *request.mutable_baseline_end() = Ts(Utc(2026, 3, 23));
  *request.mutable_comparison_start() = Ts(Utc(2026, 3, 23));
  *request.mutable_comparison_end() = Ts(Utc(2026, 5, 11));
  request.add_group_by(v1::DIMENSION_REPORTER_TYPE);
  auto r = Ask<v1::CompareVolumesResponse>(monitor_, request, &Statistics::CompareVolumes);
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::GroupComparison* other = ComparisonOf(*r, "OTHER_ADULT");
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(other->comparison_count().suppressed());
  EXPECT_TRUE(other->figures_suppressed());
  EXPECT_EQ(other->comparison_daily_rate(), 0);
  EXPECT_EQ(other->verdict(), v1::VERDICT_INSUFFICIENT_DATA);
  EXPECT_FALSE(ComparisonOf(*r, "PROFESSIONAL")->figures_suppressed());
}

}  // namespace
}  // namespace safeguarding::triage
