// Tests of tools/triagectl/generate.h: the synthetic year is deterministic, has the shape
// the model promises (volume, week, school holidays, shifts, over-dispersion), and every
// report is one ImportReports would accept.
#include "tools/triagectl/generate.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "triage/policy.h"
#include "triage/validation.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

absl::TimeZone London() {
  absl::TimeZone zone;
  EXPECT_TRUE(absl::LoadTimeZone("Europe/London", &zone));
  return zone;
}

absl::Time TimeOf(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

// A year, 2025-04-01 to 2026-03-31 in London (both DST changes, a whole school year),
// generated up to its end.
GenerateOptions YearOptions() {
  GenerateOptions o;
  o.zone = London();
  o.start = absl::CivilDay(2025, 4, 1);
  o.days = 365;
  o.seed = 7;
  o.now = o.zone.At(absl::CivilSecond(o.start + o.days)).pre;
  return o;
}

std::vector<v1::ImportedReport> Collect(const GenerateOptions& o) {
  std::vector<v1::ImportedReport> out;
  const uint64_t count = Generate(o, [&](const v1::ImportedReport& r) { out.push_back(r); });
  EXPECT_EQ(count, out.size());
  return out;
}

std::vector<std::string> JsonLines(const GenerateOptions& o) {
  std::vector<std::string> out;
  Generate(o, [&](const v1::ImportedReport& r) { out.push_back(ToJsonLine(r)); });
  return out;
}

int TypeIndex(const v1::ImportedReport& r) { return r.submission().reporter().type() - 1; }

// Reports per local day and reporter type index (0 child .. 3 other adult).
std::map<absl::CivilDay, std::array<int, 4>> DailyCounts(
    const std::vector<v1::ImportedReport>& reports, const GenerateOptions& o,
    bool teachers_only = false) {
  std::map<absl::CivilDay, std::array<int, 4>> counts;
  for (int i = 0; i < o.days; ++i) counts[o.start + i] = {0, 0, 0, 0};
  for (const v1::ImportedReport& r : reports) {
    if (teachers_only &&
        r.submission().reporter().professional_role() != v1::PROFESSIONAL_ROLE_TEACHER) {
      continue;
    }
    ++counts[absl::ToCivilDay(TimeOf(r.received_time()), o.zone)][TypeIndex(r)];
  }
  return counts;
}

bool IsWeekend(absl::CivilDay day) {
  const absl::Weekday w = absl::GetWeekday(day);
  return w == absl::Weekday::saturday || w == absl::Weekday::sunday;
}

struct Moments {
  double mean = 0, variance = 0;
};
Moments MomentsOf(const std::vector<double>& xs) {
  Moments m;
  for (double x : xs) m.mean += x;
  m.mean /= xs.size();
  for (double x : xs) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= xs.size() - 1;
  return m;
}

class GenerateYearTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { year_ = new std::vector<v1::ImportedReport>(Collect(options())); }
  static void TearDownTestSuite() {
    delete year_;
    year_ = nullptr;
  }
  static GenerateOptions options() { return YearOptions(); }
  static const std::vector<v1::ImportedReport>& year() { return *year_; }

 private:
  static std::vector<v1::ImportedReport>* year_;
};
std::vector<v1::ImportedReport>* GenerateYearTest::year_ = nullptr;

TEST(GenerateTest, SameSeedGivesTheSameBytesAnotherSeedOther) {
  GenerateOptions o = YearOptions();
  o.days = 20;
  const std::vector<std::string> first = JsonLines(o);
  ASSERT_GT(first.size(), 2000u);
  EXPECT_EQ(JsonLines(o), first);
  o.seed = 8;
  const std::vector<std::string> other = JsonLines(o);
  EXPECT_NE(other, first);
  EXPECT_TRUE(absl::StartsWith(other.front(), "{\"sourceId\":\"synthetic-8-1\"")) << other.front();
}

TEST_F(GenerateYearTest, DailyCountsAverageTheConfiguredMeanInTheConfiguredMix) {
  const double per_day = static_cast<double>(year().size()) / options().days;
  EXPECT_GT(per_day, 190);
  EXPECT_LT(per_day, 210);
  std::array<double, 4> shares{};
  for (const v1::ImportedReport& r : year()) shares[TypeIndex(r)] += 1.0 / year().size();
  const std::array<double, 4> expected = {0.3, 0.3, 0.3, 0.1};
  for (int t = 0; t < 4; ++t) {
    EXPECT_NEAR(shares[t], expected[t], 0.02) << "reporter type " << t + 1;
  }
}

TEST_F(GenerateYearTest, ProfessionalsReportInTheWorkingWeekChildrenAtWeekends) {
  std::array<double, 4> weekday{}, weekend{};
  int weekdays = 0, weekends = 0;
  for (const auto& [day, counts] : DailyCounts(year(), options())) {
    std::array<double, 4>& sum = IsWeekend(day) ? weekend : weekday;
    ++(IsWeekend(day) ? weekends : weekdays);
    for (int t = 0; t < 4; ++t) sum[t] += counts[t];
  }
  const double professional = (weekend[2] / weekends) / (weekday[2] / weekdays);
  const double child = (weekend[0] / weekends) / (weekday[0] / weekdays);
  EXPECT_LT(professional, 0.3);
  EXPECT_GT(professional, 0.1);
  EXPECT_GT(child, 1.15);
}

TEST_F(GenerateYearTest, TeachersReportFarLessInTheSummerHoliday) {
  double summer = 0, term = 0;
  int summer_days = 0, term_days = 0;
  for (const auto& [day, counts] : DailyCounts(year(), options(), /*teachers_only=*/true)) {
    if (IsWeekend(day)) continue;
    const bool is_summer = day >= absl::CivilDay(2025, 7, 22) && day <= absl::CivilDay(2025, 8, 31);
    if (is_summer) {
      summer += counts[2];
      ++summer_days;
    } else if (!IsEnglandSchoolHoliday(day)) {
      term += counts[2];
      ++term_days;
    }
  }
  ASSERT_GT(summer_days, 20);
  const double ratio = (summer / summer_days) / (term / term_days);
  EXPECT_GT(ratio, 0.2);
  EXPECT_LT(ratio, 0.4);
}

// Term-time Mondays to Thursdays have (nearly) the same mean, so their spread is the
// day-to-day noise: more than a Poisson's, unless the dispersion is set to 1.
TEST_F(GenerateYearTest, DailyCountsAreOverDispersed) {
  auto ratio = [](const std::vector<v1::ImportedReport>& reports, const GenerateOptions& o) {
    std::vector<double> xs;
    for (const auto& [day, counts] : DailyCounts(reports, o)) {
      if (absl::GetWeekday(day) <= absl::Weekday::thursday && !IsEnglandSchoolHoliday(day)) {
        xs.push_back(counts[2]);
      }
    }
    const Moments m = MomentsOf(xs);
    return m.variance / m.mean;
  };
  EXPECT_GT(ratio(year(), options()), 1.2);
  GenerateOptions poisson = options();
  poisson.dispersion = 1;
  const double poisson_ratio = ratio(Collect(poisson), poisson);
  EXPECT_GT(poisson_ratio, 0.7);
  EXPECT_LT(poisson_ratio, 1.3);
}

// Six weeks of term (5 Jan to 15 Feb 2026) with a shift halfway: no holiday in either half.
TEST(GenerateTest, ShiftChangesOnlyItsReporterTypeFromItsDay) {
  GenerateOptions o = YearOptions();
  o.start = absl::CivilDay(2026, 1, 5);
  o.days = 42;
  o.reports_per_day = 400;
  const absl::CivilDay from(2026, 1, 26);
  GenerateOptions shifted = o;
  shifted.shifts.push_back({v1::REPORTER_TYPE_PROFESSIONAL, -0.4, from});
  std::array<double, 4> before{}, after{};
  for (const auto& [day, counts] : DailyCounts(Collect(shifted), shifted)) {
    for (int t = 0; t < 4; ++t) (day < from ? before : after)[t] += counts[t];
  }
  EXPECT_GT(after[2] / before[2], 0.5);
  EXPECT_LT(after[2] / before[2], 0.7);
  EXPECT_GT(after[0] / before[0], 0.9);
  EXPECT_LT(after[0] / before[0], 1.1);
  // Each type has its own random stream: the other types' days are exactly as without it.
  const auto plain = DailyCounts(Collect(o), o);
  const auto with_shift = DailyCounts(Collect(shifted), shifted);
  for (const auto& [day, counts] : plain) {
    EXPECT_EQ(counts[0], with_shift.at(day)[0]) << absl::FormatCivilTime(day);
    EXPECT_EQ(counts[1], with_shift.at(day)[1]) << absl::FormatCivilTime(day);
    if (day < from) {
      EXPECT_EQ(counts[2], with_shift.at(day)[2]) << absl::FormatCivilTime(day);
    }
  }
}

// Everything ImportReports checks, and the promises about order, ids and decisions.
TEST_F(GenerateYearTest, EveryReportIsValidOrderedAndDecidedBeforeNow) {
  const GenerateOptions o = options();
  const absl::Time start = o.zone.At(absl::CivilSecond(o.start)).pre;
  const absl::Time open_from = o.now - absl::Hours(24) * o.open_days;
  absl::flat_hash_set<std::string> ids;
  absl::Time previous = absl::InfinitePast();
  int open = 0;
  for (const v1::ImportedReport& r : year()) {
    SCOPED_TRACE(r.source_id());
    triage::FieldViolations violations;
    triage::ValidateSubmission(r.submission(), "submission", violations);
    EXPECT_TRUE(violations.empty()) << violations.ToStatus();
    EXPECT_TRUE(ids.insert(r.source_id()).second);
    EXPECT_LE(r.source_id().size(), 128u);
    const absl::Time received = TimeOf(r.received_time());
    EXPECT_GE(received, start);
    EXPECT_LT(received, o.now);
    EXPECT_GE(received, previous);
    previous = received;
    EXPECT_TRUE(absl::StartsWith(r.submission().description(), "[synthetic] "));
    EXPECT_FALSE(r.submission().reporter().has_contact());
    EXPECT_LE(r.submission().categories_size(), 2);
    EXPECT_LE(r.submission().channels_size(), 2);
    if (received >= open_from) {
      ++open;
      EXPECT_EQ(r.outcome(), v1::OUTCOME_UNSPECIFIED);
      EXPECT_FALSE(r.has_claim_time());
      EXPECT_FALSE(r.has_decision_time());
      continue;
    }
    EXPECT_NE(r.outcome(), v1::OUTCOME_UNSPECIFIED);
    EXPECT_NE(r.outcome(), v1::OUTCOME_DUPLICATE);
    EXPECT_LT(received, TimeOf(r.claim_time()));
    EXPECT_LT(TimeOf(r.claim_time()), TimeOf(r.decision_time()));
    EXPECT_LT(TimeOf(r.decision_time()), o.now);
  }
  EXPECT_GT(open, 300);
  EXPECT_LT(open, 900);
  EXPECT_EQ(year().front().source_id(), "synthetic-7-1");
  EXPECT_EQ(year().back().source_id(), absl::StrCat("synthetic-7-", year().size()));
}

TEST_F(GenerateYearTest, RegionsAreTheShippedStatisticsRegionsOrEmpty) {
  const auto& listed = triage::TriagePolicy::Shipped().file().statistics_regions();
  ASSERT_EQ(listed.size(), 45);
  const std::set<std::string> allowed(listed.begin(), listed.end());
  std::set<std::string> seen;
  int empty = 0;
  for (const v1::ImportedReport& r : year()) {
    const std::string& region = r.submission().region();
    if (region.empty()) {
      ++empty;
      continue;
    }
    EXPECT_TRUE(allowed.count(region)) << region;
    seen.insert(region);
  }
  EXPECT_EQ(seen, allowed);
  EXPECT_NEAR(static_cast<double>(empty) / year().size(), 0.03, 0.01);
}

TEST_F(GenerateYearTest, PrioritiesAsTheShippedPolicyAndUrgentOnesDecidedSooner) {
  std::map<v1::Priority, std::vector<double>> hours;
  int danger = 0;
  for (size_t i = 0; i < year().size(); ++i) {
    const v1::ImportedReport& r = year()[i];
    const v1::Priority p = ShippedPolicyPriority(r.submission());
    if (i % 10 == 0) {
      EXPECT_EQ(p, triage::TriagePolicy::Shipped()
                       .Evaluate(r.submission(), TimeOf(r.received_time()))
                       .priority())
          << r.source_id();
    }
    danger += r.submission().immediate_danger();
    if (r.has_decision_time()) {
      hours[p].push_back(
          absl::ToDoubleHours(TimeOf(r.decision_time()) - TimeOf(r.received_time())));
    }
  }
  EXPECT_NEAR(static_cast<double>(danger) / year().size(), 0.02, 0.005);
  auto median = [&](v1::Priority p) {
    std::vector<double>& xs = hours[p];
    std::nth_element(xs.begin(), xs.begin() + xs.size() / 2, xs.end());
    return xs[xs.size() / 2];
  };
  ASSERT_GT(hours[v1::PRIORITY_IMMEDIATE].size(), 100u);
  EXPECT_LT(median(v1::PRIORITY_IMMEDIATE), 1.5);
  EXPECT_LT(median(v1::PRIORITY_IMMEDIATE), median(v1::PRIORITY_URGENT));
  EXPECT_LT(median(v1::PRIORITY_URGENT), median(v1::PRIORITY_STANDARD));
}

TEST_F(GenerateYearTest, JsonLineParsesBackToTheSameMessage) {
  for (size_t i = 0; i < year().size(); i += 37) {
    const std::string line = ToJsonLine(year()[i]);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    v1::ImportedReport parsed;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &parsed).ok()) << line;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, year()[i])) << line;
  }
}

// 2026-03-29 has no 01:00-02:00 in London and 2025-10-26 has it twice: every report still
// lands on its local day, in order, and none in the hour that does not exist.
TEST(GenerateTest, DaylightSavingChangeDaysGiveValidTimes) {
  for (absl::CivilDay day : {absl::CivilDay(2026, 3, 29), absl::CivilDay(2025, 10, 26)}) {
    SCOPED_TRACE(absl::FormatCivilTime(day));
    GenerateOptions o = YearOptions();
    o.start = day;
    o.days = 1;
    o.reports_per_day = 3000;
    const std::vector<v1::ImportedReport> reports = Collect(o);
    ASSERT_GT(reports.size(), 2000u);
    absl::Time previous = absl::InfinitePast();
    int night = 0;
    for (const v1::ImportedReport& r : reports) {
      const absl::Time t = TimeOf(r.received_time());
      const absl::CivilSecond local = absl::ToCivilSecond(t, o.zone);
      EXPECT_EQ(absl::CivilDay(local), day);
      EXPECT_GE(t, previous);
      previous = t;
      if (day.month() == 3) {
        EXPECT_NE(local.hour(), 1) << absl::FormatTime(t);
      }
      night += local.hour() < 4;
    }
    EXPECT_GT(night, 0);
  }
}

TEST(GenerateTest, NothingAtOrAfterNowAndTheLastDaysStayOpen) {
  GenerateOptions o = YearOptions();
  o.days = 30;
  o.now = o.zone.At(absl::CivilSecond(2025, 4, 20, 13, 30, 0)).pre;
  o.open_days = 2;
  const std::vector<v1::ImportedReport> reports = Collect(o);
  ASSERT_FALSE(reports.empty());
  const absl::Time last = TimeOf(reports.back().received_time());
  EXPECT_LT(last, o.now);
  EXPECT_GT(last, o.now - absl::Hours(2));
  for (const v1::ImportedReport& r : reports) {
    const bool recent = TimeOf(r.received_time()) >= o.now - absl::Hours(48);
    EXPECT_EQ(r.outcome() == v1::OUTCOME_UNSPECIFIED, recent) << r.source_id();
    if (r.has_decision_time()) {
      EXPECT_LT(TimeOf(r.decision_time()), o.now) << r.source_id();
    }
  }
  o.now = o.zone.At(absl::CivilSecond(o.start)).pre;
  EXPECT_EQ(Generate(o, [](const v1::ImportedReport&) { ADD_FAILURE(); }), 0u);
}

TEST(GenerateTest, SchoolHolidaysOfEngland) {
  EXPECT_EQ(EasterSunday(2024), absl::CivilDay(2024, 3, 31));
  EXPECT_EQ(EasterSunday(2025), absl::CivilDay(2025, 4, 20));
  EXPECT_EQ(EasterSunday(2026), absl::CivilDay(2026, 4, 5));
  EXPECT_EQ(EasterSunday(2000), absl::CivilDay(2000, 4, 23));
  EXPECT_EQ(EasterSunday(2038), absl::CivilDay(2038, 4, 25));
  const std::vector<std::array<int, 3>> holidays = {
      {2025, 12, 25}, {2026, 1, 2},   {2025, 8, 1},  {2025, 7, 22}, {2025, 2, 17},
      {2025, 2, 21},  {2025, 4, 14},  {2025, 4, 27}, {2025, 5, 26}, {2025, 5, 30},
      {2025, 10, 27}, {2025, 10, 31}, {2024, 10, 21}};
  for (const auto& [y, m, d] : holidays) {
    const absl::CivilDay day(y, m, d);
    EXPECT_TRUE(IsEnglandSchoolHoliday(day)) << absl::FormatCivilTime(day);
  }
  const std::vector<std::array<int, 3>> term = {
      {2025, 12, 19}, {2026, 1, 5},  {2025, 7, 21},  {2025, 9, 1},  {2025, 2, 10},
      {2025, 2, 24},  {2025, 4, 11}, {2025, 4, 28},  {2025, 5, 19}, {2025, 6, 2},
      {2025, 10, 20}, {2025, 11, 3}, {2024, 10, 28}, {2025, 3, 3}};
  for (const auto& [y, m, d] : term) {
    const absl::CivilDay day(y, m, d);
    EXPECT_FALSE(IsEnglandSchoolHoliday(day)) << absl::FormatCivilTime(day);
  }
}

TEST(GenerateTest, ShiftFlag) {
  absl::StatusOr<Shift> shift = ParseShiftFlag("professional:-40@2026-03-23");
  ASSERT_TRUE(shift.ok()) << shift.status();
  EXPECT_EQ(shift->reporter_type, v1::REPORTER_TYPE_PROFESSIONAL);
  EXPECT_DOUBLE_EQ(shift->relative_change, -0.4);
  EXPECT_EQ(shift->from, absl::CivilDay(2026, 3, 23));
  shift = ParseShiftFlag("parent-carer:+25%@2026-01-01");
  ASSERT_TRUE(shift.ok()) << shift.status();
  EXPECT_EQ(shift->reporter_type, v1::REPORTER_TYPE_PARENT_CARER);
  EXPECT_DOUBLE_EQ(shift->relative_change, 0.25);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"teacher:-40@2026-03-23", "unknown reporter type 'teacher'"},
      {"professional-40@2026-03-23", "expected TYPE:PERCENT@YYYY-MM-DD"},
      {"professional:-40", "expected TYPE:PERCENT@YYYY-MM-DD"},
      {"professional:lots@2026-03-23", "PERCENT 'lots'"},
      {"professional:-150@2026-03-23", "from -100 to 1000"},
      {"professional:nan@2026-03-23", "PERCENT"},
      {"professional:-40@2026-13-01", "'2026-13-01' is not a date"},
  };
  for (const auto& [text, message] : bad) {
    absl::StatusOr<Shift> parsed = ParseShiftFlag(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), "--shift")) << parsed.status();
    EXPECT_TRUE(absl::StrContains(parsed.status().message(), message)) << parsed.status();
  }
}

int RunCli(const std::string& arguments) {
  CLI::App app;
  GenerateCommand generate(app);
  app.parse(arguments, /*program_name_included=*/false);
  EXPECT_TRUE(generate.parsed());
  return generate.Run();
}

TEST(GenerateTest, CommandWritesANewPrivateFileAndRefusesToOverwrite) {
  safeguarding::testing::TempDir dir;
  const std::string out = dir.Sub("year.jsonl");
  const std::string flags =
      " --start 2025-01-01 --days 3 --per-day 50 --shift child:-10@2025-01-02";
  EXPECT_EQ(RunCli("generate --out " + out + flags), 0);
  struct stat st;
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_GT(st.st_size, 1000);
  EXPECT_EQ(RunCli("generate --out " + out + flags), 2);
  ASSERT_EQ(::chmod(out.c_str(), 0644), 0);
  EXPECT_EQ(RunCli("generate --force --out " + out + flags), 0);
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(RunCli("generate --out " + dir.Sub("b") + " --time-zone Mars/Olympus_Mons"), 2);
  EXPECT_EQ(RunCli("generate --out " + dir.Sub("c") + " --start 2025-02-30"), 2);
  EXPECT_EQ(RunCli("generate --out " + dir.Sub("d") + " --shift robot:-40@2025-01-01"), 2);
  EXPECT_EQ(RunCli("generate --out " + dir.Sub("no/such/dir") + flags), 1);
}

}  // namespace
}  // namespace safeguarding::tools
