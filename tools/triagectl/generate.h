// `triagectl generate`: a synthetic, deterministic year of reports as ImportedReport JSON
// lines, for loading a test or demo server through Administration.ImportReports and for
// trying the statistics (volumes, shifts, seasonality, waits) on data with a known shape.
//
// Nothing in it describes a real person: every description begins with "[synthetic]" and is
// made from fixed templates, platforms are generic ("a video game"), and there are no
// contact details at all. The shape is realistic so that the statistics look like the real
// thing and a shift put in on purpose is something the charts have to find:
//
// Volume. For each local day and reporter type the count is negative binomial (a Poisson
//   whose mean is itself gamma distributed), with mean
//     base[type] * weekday[type][day of week] * holiday[type] * shifts
//   and variance = dispersion * mean (default 1.6): real daily counts vary more than a
//   Poisson's, and a detector tuned on Poisson data raises false alarms on real data.
//   `base` is chosen so the mean over the period, before shifts, is reports_per_day, split
//   child 30%, parent/carer 30%, professional 30%, other adult 10%.
// Week. Professionals report in the working week (a weekend day is ~20% of a weekday),
//   children more at weekends, parents and other adults a little flatter.
// School holidays (England, rule-based so it works for any year): 21 Dec - 3 Jan, the week
//   of the third Monday of February, Easter Monday -6 to +7 days around Easter Sunday
//   (anonymous Gregorian algorithm), the week of the last Monday of May, 22 Jul - 31 Aug,
//   and the last full week (Monday to Friday) of October. Teachers, half of the
//   professionals in term, report ~30% of their term rate then: most reports come from
//   what a teacher sees or hears at school. Children report ~10% more (more time online).
// Hours. Each report's local hour comes from its type's profile (professionals in working
//   hours, children after school and in the evening, parents in the evening, spread), with
//   a uniform second within the hour, converted to an instant in `zone`; a local time that
//   does not exist (the spring DST gap) is taken with the offset before the change.
// Content. 1-2 categories and 0-2 channels weighted per reporter type; platform names
//   follow the first online channel; child reporters are mostly 11-17; some reports have no
//   age; immediate_danger ~2%, ongoing_contact ~15%, planned_meeting ~3% (more with
//   grooming); region one of the 45 UK police force areas of the shipped policy's
//   statistics_regions, weighted by population, ~3% empty.
// Decisions. Reports received before now - open_days are decided: an outcome (police 15%,
//   children's social care 25%, content removal 10%, advice 30%, no further action 20%;
//   mostly police or social care when a child is in danger; never DUPLICATE), a claim
//   time a little after receipt and a decision time after that, both log-normal delays
//   that are shorter for what the shipped policy makes IMMEDIATE or URGENT (mirrored here:
//   the tools do not link the triage domain), all strictly before now. Later reports are
//   open: no outcome, claim or decision time.
//
// Deterministic: one std::mt19937_64 seeded with `seed`, and the distributions are written
// here (the std:: ones are implementation-defined), so a seed gives byte-identical output.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_GENERATE_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_GENERATE_H_

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/administration.pb.h"

namespace safeguarding::tools {

// From `from` (a local day) onwards the reporter type's mean is multiplied by
// 1 + relative_change (-0.4 = a 40% fall). Shifts of one type multiply.
struct Shift {
  triage::v1::ReporterType reporter_type = triage::v1::REPORTER_TYPE_UNSPECIFIED;
  double relative_change = 0;
  absl::CivilDay from;
};

struct GenerateOptions {
  absl::CivilDay start;  // first local day
  int days = 365;
  uint64_t seed = 1;
  double reports_per_day = 200;  // mean over the period, all reporter types, before shifts
  std::vector<Shift> shifts;
  double dispersion = 1.6;  // variance / mean of a daily count (1 = Poisson)
  absl::TimeZone zone;      // days, hours of day and school holidays are local to it
  absl::Time now;           // nothing is generated at or after now
  int open_days = 3;        // reports received in the last open_days before now stay open
  std::string source_prefix = "synthetic";
};

// Calls `emit` once per report in received-time order and returns the count. The n-th
// report (from 1) has source_id "<prefix>-<seed>-<n>". Negative means count as zero.
uint64_t Generate(const GenerateOptions& options,
                  const std::function<void(const triage::v1::ImportedReport&)>& emit);

// Proto3 JSON of `report` on one line, without a trailing newline.
std::string ToJsonLine(const triage::v1::ImportedReport& report);

// The priority the shipped policy gives `submission`, as the model mirrors its rules (the
// decision delays depend on it); a test keeps the two in step.
triage::v1::Priority ShippedPolicyPriority(const triage::v1::ReportSubmission& submission);

// The model's school holidays in England (see above); exposed for tests.
bool IsEnglandSchoolHoliday(absl::CivilDay day);
absl::CivilDay EasterSunday(absl::civil_year_t year);

// "professional:-40@2026-03-23": TYPE (the CLI's reporter-type spelling), a change in
// percent (> -100, at most +1000), and the first local day. INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<Shift> ParseShiftFlag(absl::string_view text);

// The `generate` subcommand of triagectl; needs no server.
//   triagectl generate [--out FILE [--force]] [--start YYYY-MM-DD] [--days N] [--seed N]
//                      [--per-day X] [--time-zone ZONE] [--shift TYPE:PERCENT@YYYY-MM-DD ...]
//                      [--open-days N]
class GenerateCommand {
 public:
  // Registers the subcommand on `app`.
  explicit GenerateCommand(CLI::App& app);

  bool parsed() const { return command_->parsed(); }
  // Writes the reports; errors go to stderr as "triagectl: ...". Returns the exit code:
  // 0, 1 (could not write) or 2 (bad flags).
  int Run() const;

 private:
  [[nodiscard]] absl::StatusOr<GenerateOptions> BuildOptions(absl::Time now) const;

  CLI::App* command_ = nullptr;
  std::string out_, start_, time_zone_ = "Europe/London";
  std::vector<std::string> shifts_;
  bool force_ = false;
  int days_ = 365;
  int open_days_ = 3;
  uint64_t seed_ = 1;
  double per_day_ = 200;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_GENERATE_H_
