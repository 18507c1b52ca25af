#include "tools/triagectl/generate.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numbers>
#include <optional>
#include <random>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/types/span.h"
#include "google/protobuf/util/json_util.h"
#include "tools/triagectl/enum_names.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;

// Reporter types by index: ReporterType number - 1.
constexpr int kTypes = 4;
constexpr int kChild = 0;
constexpr int kProfessional = 2;
constexpr double kShare[kTypes] = {0.30, 0.30, 0.30, 0.10};

// Relative volume by local day of the week, Monday to Sunday.
constexpr double kWeekday[kTypes][7] = {
    {0.90, 0.90, 0.90, 0.95, 1.00, 1.25, 1.20},  // child: more at weekends
    {1.05, 1.00, 1.00, 1.00, 0.95, 0.90, 1.10},  // parent/carer
    {1.00, 1.05, 1.05, 1.00, 0.90, 0.20, 0.20},  // professional: the working week
    {1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 0.95},  // other adult
};

// Teachers are half of the professionals in term and report at 30% of that in holidays.
constexpr double kTeacherShareInTerm = 0.5;
constexpr double kTeacherHolidayFactor = 0.3;
constexpr double kHolidayFactor[kTypes] = {
    1.10, 1.00, 1.0 - kTeacherShareInTerm*(1.0 - kTeacherHolidayFactor), 1.00};
// The other professions, in ProfessionalRole order after TEACHER.
constexpr double kOtherRoles[] = {0.40, 0.30, 0.16, 0.14};

// Relative volume by local hour of the day.
constexpr double kHours[kTypes][24] = {
    {2.0, 1.2, 0.6, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 2.0, 2.0, 2.5,
     3.0, 3.0, 3.0, 4.0, 6.0, 7.0, 8.0, 9.0, 10., 10., 8.0, 4.0},
    {1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0,
     5.0, 5.0, 5.0, 5.0, 6.0, 6.0, 7.0, 8.0, 9.0, 9.0, 7.0, 3.0},
    {0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 1.0, 3.0, 8.0, 12., 13., 13.,
     11., 12., 13., 12., 9.0, 5.0, 3.0, 2.0, 1.0, 1.0, 0.5, 0.3},
    {1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 4.0, 5.0, 6.0, 6.0,
     6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 6.0, 7.0, 7.0, 6.0, 4.0, 2.0},
};

// ConcernCategory 1..7: grooming, sexual extortion, indecent images, live-streamed abuse,
// contact abuse, inappropriate content, other.
constexpr double kChildCategories[7] = {24, 30, 18, 4, 6, 14, 4};
constexpr double kAdultCategories[7] = {26, 16, 22, 4, 10, 16, 6};
// Channel 1..7: social media, online chat, online gaming, streaming, messaging, offline,
// other.
constexpr double kChildChannels[7] = {25, 12, 22, 8, 25, 4, 4};
constexpr double kAdultChannels[7] = {30, 12, 10, 6, 26, 10, 6};

// Age of the child, 0..17, and how often it is given, by reporter type.
constexpr double kAgeKnown[kTypes] = {0.92, 0.88, 0.80, 0.60};
constexpr double kAges[kTypes][18] = {
    {0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 4, 6, 9, 14, 18, 19, 15, 10},
    {0, 0, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 11, 10, 8, 6},
    {0, 0, 0, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 10, 12, 13, 13, 11, 9, 7},
    {0, 0.5, 1, 1.5, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 8, 7, 6, 5},
};

// The police force areas of the shipped policy's statistics_regions, with their
// populations in thousands (approximate, 2021 census and estimates).
struct Region {
  const char* name;
  double thousands;
};
constexpr Region kRegions[] = {
    {"Avon and Somerset", 1800},
    {"Bedfordshire", 700},
    {"Cambridgeshire", 900},
    {"Cheshire", 1100},
    {"City of London", 10},
    {"Cleveland", 570},
    {"Cumbria", 500},
    {"Derbyshire", 1050},
    {"Devon and Cornwall", 1800},
    {"Dorset", 780},
    {"Durham", 630},
    {"Dyfed-Powys", 520},
    {"Essex", 1850},
    {"Gloucestershire", 650},
    {"Greater Manchester", 2870},
    {"Gwent", 600},
    {"Hampshire", 2000},
    {"Hertfordshire", 1200},
    {"Humberside", 930},
    {"Kent", 1870},
    {"Lancashire", 1530},
    {"Leicestershire", 1100},
    {"Lincolnshire", 770},
    {"Merseyside", 1420},
    {"Metropolitan", 8800},
    {"Norfolk", 920},
    {"North Wales", 700},
    {"North Yorkshire", 830},
    {"Northamptonshire", 790},
    {"Northumbria", 1460},
    {"Nottinghamshire", 1160},
    {"South Wales", 1330},
    {"South Yorkshire", 1400},
    {"Staffordshire", 1130},
    {"Suffolk", 760},
    {"Surrey", 1200},
    {"Sussex", 1710},
    {"Thames Valley", 2420},
    {"Warwickshire", 600},
    {"West Mercia", 1300},
    {"West Midlands", 2920},
    {"West Yorkshire", 2350},
    {"Wiltshire", 720},
    {"Police Scotland", 5450},
    {"PSNI", 1900},
};
constexpr double kNoRegion = 0.03;

// Outcome 1..5 (never DUPLICATE): police, children's social care, content removal,
// advice, no further action.
constexpr double kOutcomes[5] = {15, 25, 10, 30, 20};
constexpr double kDangerOutcomes[5] = {60, 30, 0, 10, 0};

// Log-normal delays by priority (index = Priority): median minutes and sigma.
struct Delays {
  double claim_minutes, claim_sigma, decide_minutes, decide_sigma;
};
constexpr Delays kDelays[5] = {
    {180, 0.9, 360, 0.8},  // (unspecified: as standard)
    {4, 0.7, 35, 0.6},     // IMMEDIATE
    {25, 0.8, 90, 0.7},    // URGENT
    {180, 0.9, 360, 0.8},  // STANDARD
    {600, 0.9, 720, 0.8},  // ROUTINE
};
constexpr double kMaxDelayMinutes = 14 * 24 * 60;

// splitmix64's finaliser: seeds for independent streams.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The distributions, written out so that the output depends on the seed alone.
class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)
  double OpenUniform() { return (static_cast<double>(engine_() >> 11) + 0.5) * 0x1.0p-53; }
  int Below(int n) { return static_cast<int>(engine_() % static_cast<uint64_t>(n)); }
  bool Chance(double p) { return Uniform() < p; }
  double Normal() {  // Box-Muller
    const double r = std::sqrt(-2.0 * std::log(OpenUniform()));
    return r * std::cos(2.0 * std::numbers::pi * Uniform());
  }
  // An index drawn with probability proportional to `weights` (not all zero).
  size_t Pick(absl::Span<const double> weights);
  double Gamma(double shape);  // scale 1
  uint64_t Poisson(double mean);
  // Gamma-Poisson with the given mean and variance = dispersion * mean.
  uint64_t NegativeBinomial(double mean, double dispersion);

 private:
  std::mt19937_64 engine_;
};

size_t Random::Pick(absl::Span<const double> weights) {
  double total = 0;
  for (double w : weights) total += w;
  double r = Uniform() * total;
  size_t last = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    if (r < weights[i]) return i;
    r -= weights[i];
    last = i;
  }
  return last;  // rounding
}

// Marsaglia and Tsang (2000).
double Random::Gamma(double shape) {
  if (shape < 1) return Gamma(shape + 1) * std::pow(OpenUniform(), 1 / shape);
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  for (;;) {
    const double x = Normal();
    double v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    if (std::log(OpenUniform()) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

// Knuth's multiplication method, in chunks so exp(-chunk) stays a normal double.
uint64_t Random::Poisson(double mean) {
  uint64_t k = 0;
  while (mean > 0) {
    const double chunk = std::min(mean, 500.0);
    mean -= chunk;
    const double limit = std::exp(-chunk);
    for (double p = Uniform(); p > limit; p *= Uniform()) ++k;
  }
  return k;
}

uint64_t Random::NegativeBinomial(double mean, double dispersion) {
  if (!(mean > 0) || !std::isfinite(mean)) return 0;
  if (!(dispersion > 1)) return Poisson(mean);
  return Poisson(Gamma(mean / (dispersion - 1)) * (dispersion - 1));
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  const int64_t micros = absl::ToUnixMicros(t);
  const int64_t seconds = micros >= 0 ? micros / 1000000 : -((-micros + 999999) / 1000000);
  google::protobuf::Timestamp out;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>((micros - seconds * 1000000) * 1000));
  return out;
}

// The n-th (0-based) day of the week `weekday` in month `month` of `year`.
absl::CivilDay NthWeekday(absl::civil_year_t year, int month, absl::Weekday weekday, int n) {
  const absl::CivilDay first(year, month, 1);
  return absl::NextWeekday(first - 1, weekday) + 7 * n;
}

bool InWeekOf(absl::CivilDay day, absl::CivilDay monday) {
  return day >= monday && day < monday + 7;
}

}  // namespace

absl::CivilDay EasterSunday(absl::civil_year_t year) {  // anonymous Gregorian algorithm
  const int64_t a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4;
  const int64_t f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int64_t i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int64_t m = (a + 11 * h + 22 * l) / 451;
  const int64_t month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return absl::CivilDay(year, static_cast<int>(month), static_cast<int>(day));
}

bool IsEnglandSchoolHoliday(absl::CivilDay day) {
  const absl::civil_year_t y = day.year();
  const int md = day.month() * 100 + day.day();
  if (md >= 1221 || md <= 103) return true;  // Christmas and New Year
  if (md >= 722 && md <= 831) return true;   // summer
  if (InWeekOf(day, NthWeekday(y, 2, absl::Weekday::monday, 2))) return true;  // February
  const absl::CivilDay easter = EasterSunday(y);
  if (day >= easter - 6 && day <= easter + 7) return true;
  // May: the week of the last Monday (the spring bank holiday).
  if (InWeekOf(day, absl::PrevWeekday(absl::CivilDay(y, 6, 1), absl::Weekday::monday))) {
    return true;
  }
  // October: the last week whose Monday to Friday are all in October.
  return InWeekOf(day, absl::PrevWeekday(absl::CivilDay(y, 10, 28), absl::Weekday::monday));
}

triage::v1::Priority ShippedPolicyPriority(const triage::v1::ReportSubmission& s) {
  if (s.immediate_danger()) return v1::PRIORITY_IMMEDIATE;
  v1::Priority p = v1::PRIORITY_STANDARD;
  for (int c : s.categories()) {
    if (c == v1::CONCERN_CATEGORY_SEXUAL_EXTORTION || c == v1::CONCERN_CATEGORY_CONTACT_ABUSE ||
        c == v1::CONCERN_CATEGORY_LIVE_STREAMED_ABUSE) {
      p = v1::PRIORITY_URGENT;
    }
  }
  if (s.planned_meeting()) p = v1::PRIORITY_URGENT;
  if (s.has_child_age() && s.child_age() <= 10) p = static_cast<v1::Priority>(p - 1);
  return p;
}

std::string ToJsonLine(const triage::v1::ImportedReport& report) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(report, &json).ok()) return "{}";
  return json;
}

namespace {

// One report of a day before it has its place in the day's order.
struct Draft {
  absl::Time received;
  v1::ImportedReport report;  // the submission
  absl::Duration claim_delay, decision_delay;
  v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
};

double DayFactor(int type, absl::CivilDay day) {
  const double f = kWeekday[type][static_cast<int>(absl::GetWeekday(day))];
  return IsEnglandSchoolHoliday(day) ? f * kHolidayFactor[type] : f;
}

double ShiftFactor(const std::vector<Shift>& shifts, int type, absl::CivilDay day) {
  double f = 1;
  for (const Shift& s : shifts) {
    if (s.reporter_type == type + 1 && day >= s.from) f *= std::max(0.0, 1 + s.relative_change);
  }
  return f;
}

// Mean of each type on a day of factor 1, so the period's mean is reports_per_day.
std::array<double, kTypes> BaseMeans(const GenerateOptions& o) {
  std::array<double, kTypes> base{};
  for (int t = 0; t < kTypes; ++t) {
    double sum = 0;
    for (int i = 0; i < o.days; ++i) sum += DayFactor(t, o.start + i);
    if (sum > 0) base[t] = std::max(0.0, o.reports_per_day) * kShare[t] * o.days / sum;
  }
  return base;
}

absl::Time DrawReceived(Random& r, int type, absl::CivilDay day, const absl::TimeZone& zone) {
  const int hour = static_cast<int>(r.Pick(kHours[type]));
  const int second = r.Below(3600);
  const absl::CivilSecond local(day.year(), day.month(), day.day(), hour, second / 60, second % 60);
  return zone.At(local).pre;  // in the spring gap: the offset before the change
}

void DrawReporter(Random& r, int type, bool holiday, v1::Reporter& reporter) {
  reporter.set_type(static_cast<v1::ReporterType>(type + 1));
  if (type != kProfessional) return;
  const double teacher =
      holiday ? kTeacherShareInTerm * kTeacherHolidayFactor / kHolidayFactor[kProfessional]
              : kTeacherShareInTerm;
  reporter.set_professional_role(
      r.Chance(teacher) ? v1::PROFESSIONAL_ROLE_TEACHER
                        : static_cast<v1::ProfessionalRole>(v1::PROFESSIONAL_ROLE_SOCIAL_WORKER +
                                                            r.Pick(kOtherRoles)));
}

// `count` distinct values 1..7 drawn from `weights`.
std::vector<int> PickDistinct(Random& r, const double (&weights)[7], int count) {
  std::array<double, 7> w;
  std::copy(std::begin(weights), std::end(weights), w.begin());
  std::vector<int> out;
  for (int k = 0; k < count; ++k) {
    const size_t i = r.Pick(w);
    out.push_back(static_cast<int>(i) + 1);
    w[i] = 0;
  }
  return out;
}

bool HasCategory(const v1::ReportSubmission& s, v1::ConcernCategory c) {
  return std::find(s.categories().begin(), s.categories().end(), c) != s.categories().end();
}

void DrawCategoriesAndChannels(Random& r, int type, v1::ReportSubmission& s) {
  for (int c : PickDistinct(r, type == kChild ? kChildCategories : kAdultCategories,
                            r.Chance(0.3) ? 2 : 1)) {
    s.add_categories(static_cast<v1::ConcernCategory>(c));
  }
  const double u = r.Uniform();
  const int channels = u < 0.12 ? 0 : u < 0.75 ? 1 : 2;
  std::vector<int> picked =
      PickDistinct(r, type == kChild ? kChildChannels : kAdultChannels, channels);
  // Contact abuse happens offline more often than not.
  if (HasCategory(s, v1::CONCERN_CATEGORY_CONTACT_ABUSE) && r.Chance(0.6) &&
      std::find(picked.begin(), picked.end(), v1::CHANNEL_OFFLINE) == picked.end()) {
    picked.insert(picked.begin(), v1::CHANNEL_OFFLINE);
    if (picked.size() > 2) picked.pop_back();
  }
  for (int c : picked) s.add_channels(static_cast<v1::Channel>(c));
}

// Generic platform names by Channel (none for offline and other).
constexpr const char* kPlatforms[8][2] = {
    {nullptr, nullptr},
    {"a social network", "a photo-sharing app"},
    {"a chat website", "an online forum"},
    {"a video game", "a gaming chat server"},
    {"a live-streaming app", "a video-sharing site"},
    {"a messaging app", "a messaging app"},
    {nullptr, nullptr},
    {nullptr, nullptr},
};

// A generic name for the first online channel, sometimes.
std::string DrawPlatform(Random& r, const v1::ReportSubmission& s) {
  for (int c : s.channels()) {
    if (kPlatforms[c][0] == nullptr) continue;
    if (!r.Chance(0.7)) return "";
    return kPlatforms[c][r.Chance(0.6) ? 0 : 1];
  }
  return "";
}

void DrawDetails(Random& r, int type, v1::ReportSubmission& s) {
  if (r.Chance(kAgeKnown[type])) s.set_child_age(static_cast<int>(r.Pick(kAges[type])));
  const bool grooming = HasCategory(s, v1::CONCERN_CATEGORY_GROOMING);
  const bool extortion = HasCategory(s, v1::CONCERN_CATEGORY_SEXUAL_EXTORTION);
  s.set_immediate_danger(r.Chance(0.02));
  s.set_ongoing_contact(r.Chance(grooming || extortion ? 0.2 : 0.1));
  s.set_planned_meeting(r.Chance(grooming ? 0.08 : 0.01));
  if (!r.Chance(kNoRegion)) {
    static const std::vector<double> weights = [] {
      std::vector<double> w;
      for (const Region& region : kRegions) w.push_back(region.thousands);
      return w;
    }();
    s.set_region(kRegions[r.Pick(weights)].name);
  }
}

// Two templates per category: {Who} / {who} is the child, {where} the platform.
constexpr const char* kTemplates[7][2] = {
    {"{Who} has been getting flattering messages from an older user {where}, who asks them "
     "to keep it secret.",
     "An adult {where} has been offering {who} gifts and asking personal questions."},
    {"{Who} shared an image {where} and is now being threatened with it unless they pay.",
     "Someone {where} is demanding more images from {who} and threatening to share the first."},
    {"Indecent images that appear to show {who} are being shared {where}.",
     "{Who} was sent indecent images of children by another user {where}."},
    {"{Who} was pressured into performing sexual acts on a live stream {where}.",
     "A live stream {where} appears to show {who} being abused."},
    {"{Who} has said that an adult they know touched them inappropriately.",
     "An adult who first contacted {who} {where} later abused them in person."},
    {"{Who} was shown sexual content that is not suitable for their age {where}.",
     "{Who} keeps being sent violent and sexual videos {where}."},
    {"The reporter is worried about the way an adult {where} talks to {who}.",
     "{Who} is being asked unsettling questions by a stranger {where}."},
};
constexpr const char* kAlso[7] = {
    "grooming",      "sexual extortion",      "indecent images", "live-streamed abuse",
    "contact abuse", "inappropriate content", "other behaviour"};

std::string Describe(Random& r, const v1::ReportSubmission& s) {
  const int age = s.has_child_age() ? s.child_age() : -1;
  const std::string who = age >= 0
                              ? absl::StrCat(age == 8 || age == 11 ? "an " : "a ", age, "-year-old")
                          : r.Chance(0.5) ? "a child"
                                          : "a young person";
  const bool offline = s.channels_size() > 0 && s.channels(0) == v1::CHANNEL_OFFLINE;
  const std::string where =
      !s.platform().empty()
          ? absl::StrCat(s.platform() == "a video game" ? "in " : "on ", s.platform())
      : offline ? "in person"
                : "online";
  const int first = s.categories(0) - 1;
  std::string text = absl::StrReplaceAll(
      kTemplates[first][r.Below(2)],
      {{"{Who}", absl::StrCat("A", who.substr(1))}, {"{who}", who}, {"{where}", where}});
  text = absl::StrCat("[synthetic] ", text);
  if (s.categories_size() > 1) {
    absl::StrAppend(&text, " There are also concerns about ", kAlso[s.categories(1) - 1], ".");
  }
  if (s.ongoing_contact()) absl::StrAppend(&text, " The contact is still going on.");
  if (s.planned_meeting()) absl::StrAppend(&text, " A meeting has been arranged.");
  if (s.immediate_danger()) {
    absl::StrAppend(&text, " The reporter believes the child is in danger now.");
  }
  return text;
}

absl::Duration LogNormalMinutes(Random& r, double median, double sigma) {
  const double minutes = std::min(median * std::exp(sigma * r.Normal()), kMaxDelayMinutes);
  return absl::Seconds(std::max(1.0, std::ceil(minutes * 60)));
}

// Drawn for every report, open or not, so that `now` changes nothing else.
void DrawDecision(Random& r, Draft& d) {
  const v1::ReportSubmission& s = d.report.submission();
  const Delays& delays = kDelays[ShippedPolicyPriority(s)];
  d.claim_delay = LogNormalMinutes(r, delays.claim_minutes, delays.claim_sigma);
  d.decision_delay = LogNormalMinutes(r, delays.decide_minutes, delays.decide_sigma);
  d.outcome =
      static_cast<v1::Outcome>(1 + r.Pick(s.immediate_danger() ? kDangerOutcomes : kOutcomes));
}

Draft DraftReport(Random& r, int type, bool holiday, absl::CivilDay day,
                  const absl::TimeZone& zone) {
  Draft d;
  d.received = DrawReceived(r, type, day, zone);
  v1::ReportSubmission& s = *d.report.mutable_submission();
  DrawReporter(r, type, holiday, *s.mutable_reporter());
  DrawCategoriesAndChannels(r, type, s);
  s.set_platform(DrawPlatform(r, s));
  DrawDetails(r, type, s);
  s.set_description(Describe(r, s));
  DrawDecision(r, d);
  return d;
}

// Every (day, reporter type) has its own stream: a shift of one type leaves the others'
// reports as they were.
std::vector<Draft> DraftDay(const GenerateOptions& o, const std::array<double, kTypes>& base,
                            absl::CivilDay day) {
  const bool holiday = IsEnglandSchoolHoliday(day);
  const int64_t day_number = day - absl::CivilDay(1970, 1, 1);
  std::vector<Draft> drafts;
  for (int t = 0; t < kTypes; ++t) {
    Random r(Mix(Mix(o.seed) ^ Mix(static_cast<uint64_t>(day_number) * kTypes + t)));
    const double mean = base[t] * DayFactor(t, day) * ShiftFactor(o.shifts, t, day);
    const uint64_t count = r.NegativeBinomial(mean, o.dispersion);
    for (uint64_t i = 0; i < count; ++i) drafts.push_back(DraftReport(r, t, holiday, day, o.zone));
  }
  std::stable_sort(drafts.begin(), drafts.end(),
                   [](const Draft& a, const Draft& b) { return a.received < b.received; });
  return drafts;
}

// Numbers the report and decides it, unless it is too recent.
void Finish(const GenerateOptions& o, uint64_t n, Draft& d) {
  v1::ImportedReport& report = d.report;
  report.set_source_id(absl::StrCat(o.source_prefix, "-", o.seed, "-", n));
  *report.mutable_received_time() = ToTimestamp(d.received);
  if (d.received >= o.now - absl::Hours(24) * o.open_days) return;
  absl::Time claim = d.received + d.claim_delay;
  absl::Time decision = claim + d.decision_delay;
  if (decision >= o.now) {  // the delays run past now: squeeze them in before it
    const absl::Duration span = o.now - d.received;
    if (span < absl::Microseconds(3)) return;
    claim = d.received + absl::Trunc(span / 3, absl::Microseconds(1));
    decision = d.received + absl::Trunc(span * 2 / 3, absl::Microseconds(1));
  }
  report.set_outcome(d.outcome);
  *report.mutable_claim_time() = ToTimestamp(claim);
  *report.mutable_decision_time() = ToTimestamp(decision);
}

}  // namespace

uint64_t Generate(const GenerateOptions& o,
                  const std::function<void(const triage::v1::ImportedReport&)>& emit) {
  if (o.days <= 0) return 0;
  const std::array<double, kTypes> base = BaseMeans(o);
  uint64_t n = 0;
  for (int i = 0; i < o.days; ++i) {
    const absl::CivilDay day = o.start + i;
    if (o.zone.At(absl::CivilSecond(day)).pre >= o.now) break;
    for (Draft& d : DraftDay(o, base, day)) {
      if (d.received >= o.now) continue;
      Finish(o, ++n, d);
      emit(d.report);
    }
  }
  return n;
}

absl::StatusOr<Shift> ParseShiftFlag(absl::string_view text) {
  const std::string flag = absl::StrCat("--shift '", text, "': ");
  const size_t colon = text.find(':');
  const size_t at = text.rfind('@');
  if (colon == absl::string_view::npos || at == absl::string_view::npos || at < colon) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "expected TYPE:PERCENT@YYYY-MM-DD, e.g. professional:-40@2026-03-23"));
  }
  Shift shift;
  const absl::string_view type = text.substr(0, colon);
  std::optional<int> value = ParseEnumFlag(v1::ReporterType_descriptor(), type);
  if (!value) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, "unknown reporter type '", type,
        "' (one of: ", absl::StrJoin(EnumFlagNames(v1::ReporterType_descriptor()), ", "), ")"));
  }
  shift.reporter_type = static_cast<v1::ReporterType>(*value);
  absl::string_view percent = text.substr(colon + 1, at - colon - 1);
  absl::ConsumeSuffix(&percent, "%");
  double change;
  if (!absl::SimpleAtod(percent, &change) || !std::isfinite(change) || change < -100 ||
      change > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "PERCENT '", percent, "' must be a number from -100 to 1000, e.g. -40"));
  }
  shift.relative_change = change / 100;
  const absl::string_view date = text.substr(at + 1);
  if (!absl::ParseCivilTime(date, &shift.from)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, "'", date, "' is not a date like 2026-03-23"));
  }
  return shift;
}

namespace {

// Where the lines go: a new file (mode 0600) or standard output.
class Output {
 public:
  Output() = default;
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;
  ~Output() {
    if (file_ != nullptr && file_ != stdout) std::fclose(file_);
  }

  // ALREADY_EXISTS when the file exists and not `force`.
  [[nodiscard]] absl::Status Open(const std::string& path, bool force);
  void Write(const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
  [[nodiscard]] absl::Status Close();
  const std::string& name() const { return name_; }

 private:
  FILE* file_ = nullptr;
  std::string name_;
};

// An overwritten file is made private too; a device or pipe (/dev/null) is left alone.
bool MakePrivate(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return false;
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0777) == (S_IRUSR | S_IWUSR)) return true;
  return ::fchmod(fd, S_IRUSR | S_IWUSR) == 0;
}

absl::Status Output::Open(const std::string& path, bool force) {
  if (path.empty() || path == "-") {
    file_ = stdout;
    name_ = "standard output";
    return absl::OkStatus();
  }
  name_ = path;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL),
                        S_IRUSR | S_IWUSR);
  if (fd < 0 && errno == EEXIST) {
    return absl::AlreadyExistsError(
        absl::StrCat("--out ", path, ": exists; add --force to overwrite it"));
  }
  if (fd < 0) return absl::UnavailableError(absl::StrCat("--out ", path, ": ", strerror(errno)));
  if (force && !MakePrivate(fd)) {
    const int error = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("--out ", path, ": chmod: ", strerror(error)));
  }
  file_ = ::fdopen(fd, "w");
  if (file_ == nullptr) {
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("--out ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status Output::Close() {
  FILE* file = file_;
  file_ = nullptr;
  const bool failed = std::ferror(file) != 0;
  const bool closed = file == stdout ? std::fflush(file) == 0 : std::fclose(file) == 0;
  if (failed || !closed) {
    return absl::UnavailableError(absl::StrCat("writing ", name_, " failed: ", strerror(errno)));
  }
  return absl::OkStatus();
}

int Fail(const absl::Status& status) {
  std::fprintf(stderr, "triagectl: %s\n", std::string(status.message()).c_str());
  return absl::IsInvalidArgument(status) || absl::IsAlreadyExists(status) ? 2 : 1;
}

}  // namespace

GenerateCommand::GenerateCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "generate", "write a synthetic year of reports as ImportedReport JSON lines (no server)");
  command_->add_option("--out", out_, "file to create, mode 0600 (default: standard output)");
  command_->add_flag("--force", force_, "overwrite the --out file if it exists");
  command_->add_option("--start", start_,
                       "first local day, YYYY-MM-DD (default: 365 days before today)");
  command_->add_option("--days", days_, "number of days")
      ->capture_default_str()
      ->check(CLI::Range(1, 36600));
  command_->add_option("--seed", seed_, "the same seed gives the same output")
      ->capture_default_str()
      ->check([](const std::string& text) {  // CLI11 would wrap -1 round to 2^64 - 1
        return absl::StartsWith(text, "-") ? std::string("must not be negative") : std::string();
      });
  command_->add_option("--per-day", per_day_, "mean reports a day, all reporters, before shifts")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100000.0));
  command_->add_option("--time-zone", time_zone_, "zone of the days, hours and school holidays")
      ->capture_default_str();
  command_->add_option("--shift", shifts_,
                       "TYPE:PERCENT@YYYY-MM-DD, e.g. professional:-40@2026-03-23: from that "
                       "day the type's reports change by PERCENT (repeatable)");
  command_
      ->add_option("--open-days", open_days_,
                   "reports received in the last N days before now stay open")
      ->capture_default_str()
      ->check(CLI::Range(0, 3650));
}

absl::StatusOr<GenerateOptions> GenerateCommand::BuildOptions(absl::Time now) const {
  GenerateOptions o;
  if (time_zone_.empty() || !absl::LoadTimeZone(time_zone_, &o.zone)) {
    return absl::InvalidArgumentError(absl::StrCat("--time-zone: unknown time zone '", time_zone_,
                                                   "' (an IANA name like Europe/London)"));
  }
  o.now = now;
  if (start_.empty()) {
    o.start = absl::ToCivilDay(now, o.zone) - 365;
  } else if (!absl::ParseCivilTime(start_, &o.start)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--start: '", start_, "' is not a date like 2025-04-01"));
  }
  o.days = days_;
  o.seed = seed_;
  o.reports_per_day = per_day_;
  o.open_days = open_days_;
  for (const std::string& text : shifts_) {
    absl::StatusOr<Shift> shift = ParseShiftFlag(text);
    if (!shift.ok()) return shift.status();
    o.shifts.push_back(*shift);
  }
  return o;
}

int GenerateCommand::Run() const {
  absl::StatusOr<GenerateOptions> options = BuildOptions(absl::Now());
  if (!options.ok()) return Fail(options.status());
  Output out;
  if (absl::Status opened = out.Open(out_, force_); !opened.ok()) return Fail(opened);
  absl::Time first = absl::InfiniteFuture(), last = absl::InfinitePast();
  const uint64_t count = Generate(*options, [&](const v1::ImportedReport& report) {
    out.Write(ToJsonLine(report));
    const absl::Time t = absl::FromUnixSeconds(report.received_time().seconds());
    first = std::min(first, t);
    last = std::max(last, t);
  });
  if (absl::Status closed = out.Close(); !closed.ok()) return Fail(closed);
  const absl::CivilDay from = count > 0 ? absl::ToCivilDay(first, options->zone) : options->start;
  const absl::CivilDay to =
      count > 0 ? absl::ToCivilDay(last, options->zone) : options->start + options->days - 1;
  std::fprintf(stderr, "wrote %llu reports (%s to %s) to %s\n",
               static_cast<unsigned long long>(count), absl::FormatCivilTime(from).c_str(),
               absl::FormatCivilTime(to).c_str(), out.name().c_str());
  return 0;
}

}  // namespace safeguarding::tools
