#include "tools/triagectl/stats_commands.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "tools/triagectl/charts.h"
#include "tools/triagectl/enum_names.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

absl::TimeZone ZoneOrUsage(const std::string& name) {
  absl::TimeZone zone;
  if (!absl::LoadTimeZone(name, &zone)) {
    throw UsageError(absl::StrCat("--time-zone: '", name, "' is not an IANA time zone"));
  }
  return zone;
}

// YYYY-MM-DD is midnight in `zone`; anything else must be RFC 3339.
google::protobuf::Timestamp DateOrUsage(const std::string& text, const char* flag,
                                        const absl::TimeZone& zone) {
  absl::CivilDay day;
  absl::Time t;
  std::string err;
  if (absl::ParseCivilTime(text, &day)) {
    t = absl::FromCivil(day, zone);
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    throw UsageError(
        absl::StrCat("--", flag, ": '", text, "' is not a date (2026-03-23) or an RFC 3339 time"));
  }
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

v1::Dimension DimensionOrUsage(const std::string& text, const char* flag) {
  std::optional<int> d = ParseEnumFlag(v1::Dimension_descriptor(), text);
  if (!d) {
    throw UsageError(absl::StrCat("--", flag, ": '", text, "' is not one of ",
                                  absl::StrJoin(EnumFlagNames(v1::Dimension_descriptor()), ", ")));
  }
  return static_cast<v1::Dimension>(*d);
}

// "--by" and "--filter DIM=V1,V2" into a request's group_by and filters. Values are given
// as the answer spells them (CHILD, Kent) or as flags (child, parent-carer).
template <typename Request>
void AddGroups(const std::vector<std::string>& by, const std::vector<std::string>& filters,
               Request& request) {
  for (const std::string& b : by) request.add_group_by(DimensionOrUsage(b, "by"));
  for (const std::string& f : filters) {
    const std::vector<std::string> parts = absl::StrSplit(f, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[1].empty()) {
      throw UsageError(absl::StrCat("--filter: '", f, "' is not DIMENSION=VALUE[,VALUE]"));
    }
    v1::DimensionFilter& filter = *request.add_filters();
    filter.set_dimension(DimensionOrUsage(parts[0], "filter"));
    for (absl::string_view value : absl::StrSplit(parts[1], ',')) {
      std::string v(value);
      const bool flag_spelling = std::all_of(v.begin(), v.end(), [](char c) {
        return absl::ascii_islower(static_cast<unsigned char>(c)) || c == '-';
      });
      if (flag_spelling && filter.dimension() != v1::DIMENSION_QUEUE &&
          filter.dimension() != v1::DIMENSION_REGION) {
        v = absl::AsciiStrToUpper(v);
        std::replace(v.begin(), v.end(), '-', '_');
      }
      filter.add_values(v);
    }
  }
}

std::string GroupName(const google::protobuf::RepeatedPtrField<v1::GroupKey>& group) {
  if (group.empty()) return "all reports";
  std::vector<std::string> parts;
  for (const v1::GroupKey& g : group) {
    parts.push_back(absl::StrCat(EnumFlagName(v1::Dimension_descriptor(), g.dimension()), "=",
                                 g.value().empty() ? "(none)" : CleanText(g.value())));
  }
  return absl::StrJoin(parts, " ");
}

std::string CountText(const v1::Count& c) { return c.suppressed() ? "<5" : FormatCount(c.value()); }

std::string PeriodLabel(const google::protobuf::Timestamp& start, const absl::TimeZone& zone,
                        const std::string& granularity) {
  const absl::Time t = absl::FromUnixSeconds(start.seconds());
  if (granularity == "month") return absl::FormatTime("%Y-%m", t, zone);
  return absl::FormatTime("%Y-%m-%d", t, zone);
}

v1::Granularity GranularityOrUsage(const std::string& g) {
  if (g == "day") return v1::GRANULARITY_DAY;
  if (g == "week") return v1::GRANULARITY_WEEK;
  if (g == "month") return v1::GRANULARITY_MONTH;
  throw UsageError("--granularity: day, week or month");
}

void WriteSvg(const std::string& path, const std::string& svg) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw UsageError(absl::StrCat("--svg: cannot write ", path));
  size_t written = 0;
  while (written < svg.size()) {
    const ssize_t n = ::write(fd, svg.data() + written, svg.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  ::close(fd);
  if (written != svg.size()) throw std::runtime_error(absl::StrCat("writing ", path, " failed"));
}

}  // namespace

StatsCommands::StatsCommands(CLI::App& app) {
  stats_ = app.add_subcommand("stats", "report volumes, comparisons, shifts and queues");
  stats_->require_subcommand(1);
  auto common = [this](CLI::App* c) {
    c->add_option("--by", by_,
                  "group by this dimension (up to two; with two, one is "
                  "reporter-type)");
    c->add_option("--filter", filters_, "only DIMENSION=VALUE[,VALUE] (repeatable)");
    c->add_option("--time-zone", time_zone_, "IANA zone days are cut in")->capture_default_str();
    c->add_option("--measure", measure_, "received or decided")->capture_default_str();
  };
  volumes_ = stats_->add_subcommand("volumes", "report counts per period, drawn as charts");
  volumes_->add_option("--from", from_, "first day (YYYY-MM-DD) or RFC 3339 time")->required();
  volumes_->add_option("--to", to_, "end, exclusive")->required();
  volumes_->add_option("--granularity", granularity_, "day, week or month")->capture_default_str();
  volumes_->add_option("--svg", svg_, "also write the charts as a standalone SVG file");
  volumes_->add_option("--width", width_, "chart columns")->check(CLI::Range(10, 400));
  volumes_->add_option("--height", height_, "chart rows")->check(CLI::Range(2, 60));
  common(volumes_);
  compare_ = stats_->add_subcommand("compare", "baseline vs comparison: verdict per group");
  compare_->add_option("--baseline-from", baseline_from_, "baseline start")->required();
  compare_->add_option("--baseline-to", baseline_to_, "baseline end, exclusive")->required();
  compare_->add_option("--comparison-from", comparison_from_, "comparison start")->required();
  compare_->add_option("--comparison-to", comparison_to_, "comparison end, exclusive")->required();
  compare_->add_option("--alpha", alpha_, "significance level")->capture_default_str();
  common(compare_);
  shifts_ = stats_->add_subcommand("shifts", "the most likely change in each group's rate");
  shifts_->add_option("--from", from_, "first day")->required();
  shifts_->add_option("--to", to_, "end, exclusive")->required();
  shifts_->add_option("--alpha", alpha_, "significance level")->capture_default_str();
  common(shifts_);
  queues_ = stats_->add_subcommand("queues", "queue depth, waits and times to decision");
  queues_->add_option("--queue", queues_list_, "only these queues");
  queues_->add_option("--window", window_, "decisions over this window, e.g. 7d, 24h")
      ->capture_default_str();
}

int StatsCommands::Run(const ConnectionOptions& connection, bool json) {
  if (volumes_->parsed()) return RunVolumes(connection, json);
  if (compare_->parsed()) return RunCompare(connection, json);
  if (shifts_->parsed()) return RunShifts(connection, json);
  if (queues_->parsed()) return RunQueues(connection, json);
  return 2;
}

static v1::Measure MeasureOrUsage(const std::string& m) {
  if (m == "received") return v1::MEASURE_RECEIVED;
  if (m == "decided") return v1::MEASURE_DECIDED;
  throw UsageError("--measure: received or decided");
}

int StatsCommands::RunVolumes(const ConnectionOptions& connection, bool json) {
  const absl::TimeZone zone = ZoneOrUsage(time_zone_);
  v1::GetVolumesRequest request;
  *request.mutable_start_time() = DateOrUsage(from_, "from", zone);
  *request.mutable_end_time() = DateOrUsage(to_, "to", zone);
  request.set_granularity(GranularityOrUsage(granularity_));
  request.set_time_zone(time_zone_);
  request.set_measure(MeasureOrUsage(measure_));
  AddGroups(by_, filters_, request);
  auto stub = v1::Statistics::NewStub(OpenChannel(connection));
  v1::GetVolumesResponse response;
  grpc::Status status = stub->GetVolumes(NewCallContext(connection).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  if (response.series().empty()) std::cout << "No reports in the range.\n";
  std::vector<ChartSeries> charts;
  for (const v1::VolumeSeries& s : response.series()) {
    ChartSeries chart{GroupName(s.group()), {}};
    for (const v1::VolumePoint& p : s.points()) {
      chart.points.push_back({PeriodLabel(p.period_start(), zone, granularity_), p.count().value(),
                              p.count().suppressed()});
    }
    std::cout << RenderTerminalChart(chart, ChartOptions{.width = width_, .height = height_})
              << RenderTable(chart, s.total().value(), s.total().suppressed(), 5) << "\n";
    charts.push_back(std::move(chart));
  }
  if (!svg_.empty()) {
    WriteSvg(svg_, RenderSvg(absl::StrCat("Reports ", measure_, ", ", from_, " to ", to_, " (",
                                          time_zone_, ")"),
                             charts, 5));
    std::fprintf(stderr, "wrote %s\n", svg_.c_str());
  }
  return 0;
}

int StatsCommands::RunCompare(const ConnectionOptions& connection, bool json) {
  const absl::TimeZone zone = ZoneOrUsage(time_zone_);
  v1::CompareVolumesRequest request;
  *request.mutable_baseline_start() = DateOrUsage(baseline_from_, "baseline-from", zone);
  *request.mutable_baseline_end() = DateOrUsage(baseline_to_, "baseline-to", zone);
  *request.mutable_comparison_start() = DateOrUsage(comparison_from_, "comparison-from", zone);
  *request.mutable_comparison_end() = DateOrUsage(comparison_to_, "comparison-to", zone);
  request.set_alpha(alpha_);
  request.set_time_zone(time_zone_);
  request.set_measure(MeasureOrUsage(measure_));
  AddGroups(by_, filters_, request);
  auto stub = v1::Statistics::NewStub(OpenChannel(connection));
  v1::CompareVolumesResponse response;
  grpc::Status status = stub->CompareVolumes(NewCallContext(connection).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  if (response.groups().empty()) {
    std::cout << "No reports in either period (only whole days that are over count).\n";
    return 0;
  }
  // Two header lines: which period each count and daily rate belongs to, then what it is.
  std::cout << absl::StrFormat("%-34s %10s %10s %9s %9s\n", "", "baseline", "compared", "baseline",
                               "compared");
  std::cout << absl::StrFormat("%-34s %10s %10s %9s %9s %8s %9s  %s\n", "group", "reports",
                               "reports", "a day", "a day", "change", "p", "verdict");
  for (const v1::GroupComparison& g : response.groups()) {
    const bool hidden = g.figures_suppressed();
    std::cout << absl::StrFormat("%-34s %10s %10s %9s %9s %8s %9s  %s\n", GroupName(g.group()),
                                 CountText(g.baseline_count()), CountText(g.comparison_count()),
                                 hidden ? "-" : absl::StrFormat("%.1f", g.baseline_daily_rate()),
                                 hidden ? "-" : absl::StrFormat("%.1f", g.comparison_daily_rate()),
                                 hidden ? "-" : absl::StrFormat("%+.1f%%", g.percent_change()),
                                 hidden ? "-" : absl::StrFormat("%.2g", g.p_value()),
                                 EnumFlagName(v1::Verdict_descriptor(), g.verdict()));
  }
  return 0;
}

int StatsCommands::RunShifts(const ConnectionOptions& connection, bool json) {
  const absl::TimeZone zone = ZoneOrUsage(time_zone_);
  v1::DetectShiftsRequest request;
  *request.mutable_start_time() = DateOrUsage(from_, "from", zone);
  *request.mutable_end_time() = DateOrUsage(to_, "to", zone);
  request.set_alpha(alpha_);
  request.set_time_zone(time_zone_);
  request.set_measure(MeasureOrUsage(measure_));
  AddGroups(by_, filters_, request);
  auto stub = v1::Statistics::NewStub(OpenChannel(connection));
  v1::DetectShiftsResponse response;
  grpc::Status status = stub->DetectShifts(NewCallContext(connection).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  if (response.groups().empty()) {
    std::cout << "No reports in the range (only whole days that are over count).\n";
  }
  for (const v1::GroupShift& g : response.groups()) {
    std::string what;
    if (g.insufficient_data()) {
      what = "too few days or reports to tell";
    } else if (!g.shift_detected()) {
      what = absl::StrFormat("no shift (most likely change %s, p = %.2g)",
                             PeriodLabel(g.change_date(), zone, "day"), g.p_value());
    } else if (g.figures_suppressed()) {
      what = absl::StrCat("shift from ", PeriodLabel(g.change_date(), zone, "day"),
                          " (figures suppressed)");
    } else {
      what = absl::StrFormat(
          "%s %.0f%% from %s: %.1f -> %.1f a day (p = %.2g)",
          g.relative_change() < 0 ? "fell" : "rose", std::abs(100 * g.relative_change()),
          PeriodLabel(g.change_date(), zone, "day"), g.rate_before(), g.rate_after(), g.p_value());
    }
    std::cout << absl::StrFormat("%-34s %10s  %s\n", GroupName(g.group()), CountText(g.total()),
                                 what);
  }
  return 0;
}

static std::string Percentiles(const v1::DurationPercentiles& p) {
  if (p.suppressed()) return "-";
  // A percentile left unset (a monitor's p90 of fewer than 10, p99 of fewer than 100).
  auto d = [](bool set, const google::protobuf::Duration& x) {
    return set ? absl::FormatDuration(absl::Seconds(x.seconds())) : std::string("-");
  };
  return absl::StrCat(d(p.has_p50(), p.p50()), " / ", d(p.has_p90(), p.p90()), " / ",
                      d(p.has_p99(), p.p99()));
}

int StatsCommands::RunQueues(const ConnectionOptions& connection, bool json) {
  absl::Duration window;
  int days = 0;
  if (absl::EndsWith(window_, "d") &&
      absl::SimpleAtoi(absl::string_view(window_).substr(0, window_.size() - 1), &days)) {
    window = absl::Hours(24) * days;
  } else if (!absl::ParseDuration(window_, &window)) {
    throw UsageError("--window: a duration such as 7d, 24h or 90m");
  }
  v1::GetQueueStatisticsRequest request;
  for (const std::string& q : queues_list_) request.add_queues(q);
  request.mutable_window()->set_seconds(absl::ToInt64Seconds(window));
  auto stub = v1::Statistics::NewStub(OpenChannel(connection));
  v1::GetQueueStatisticsResponse response;
  grpc::Status status =
      stub->GetQueueStatistics(NewCallContext(connection).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  std::cout << absl::StrFormat("%-14s %-10s %7s %7s %8s %7s %8s  %-26s %s\n", "queue", "priority",
                               "waiting", "claimed", "past due", "decided", "late",
                               "wait p50/p90/p99", "decision p50/p90/p99");
  for (const v1::QueueStatistics& q : response.queues()) {
    std::cout << absl::StrFormat("%-14s %-10s %7s %7s %8s %7s %8s  %-26s %s\n",
                                 CleanText(q.queue()), "all", CountText(q.depth()),
                                 CountText(q.claimed()), CountText(q.past_due()),
                                 CountText(q.decided()), CountText(q.sla_breaches()),
                                 Percentiles(q.wait()), Percentiles(q.time_to_decision()));
    for (const v1::PriorityStatistics& p : q.priorities()) {
      std::cout << absl::StrFormat("%-14s %-10s %7s %7s %8s %7s %8s  %-26s %s\n", "",
                                   EnumFlagName(v1::Priority_descriptor(), p.priority()),
                                   CountText(p.depth()), "", "", CountText(p.decided()),
                                   CountText(p.sla_breaches()), Percentiles(p.wait()),
                                   Percentiles(p.time_to_decision()));
    }
  }
  return 0;
}

}  // namespace safeguarding::tools
