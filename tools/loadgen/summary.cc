#include "tools/loadgen/summary.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace safeguarding::loadgen {
namespace {

constexpr absl::string_view kCodeNames[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

double Seconds(const Phase& p) { return std::max(absl::ToDoubleSeconds(p.result.elapsed), 1e-9); }

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

// CPU per answered call in microseconds, or -1 without a reading.
double CpuPerCall(std::optional<double> seconds, int64_t calls) {
  if (!seconds || calls == 0) return -1;
  return *seconds * 1e6 / static_cast<double>(calls);
}

std::string ErrorsByCode(const MethodResult& r, absl::string_view between,
                         absl::string_view quote) {
  std::vector<std::string> parts;
  for (const auto& [code, count] : r.errors) {
    parts.push_back(absl::StrCat(quote, StatusCodeName(code), quote, between, count));
  }
  return absl::StrJoin(parts, ",");
}

std::string MethodFields(const MethodResult& r, double seconds) {
  const LatencyHistogram& h = r.latency;
  std::string line = absl::StrFormat(
      "ok=%d errors=%d seconds=%.2f rate_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
      "p999_ms=%.2f max_ms=%.2f",
      r.ok, r.error_count(), seconds, static_cast<double>(h.count()) / seconds,
      Ms(h.Percentile(0.5)), Ms(h.Percentile(0.9)), Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)),
      Ms(h.max()));
  if (r.throttled > 0) absl::StrAppendFormat(&line, " throttled=%d", r.throttled);
  if (!r.errors.empty()) {
    // With errors, the latency of the calls that succeeded too: shed calls answer fast.
    const LatencyHistogram& ok = r.ok_latency;
    absl::StrAppendFormat(&line, " ok_p50_ms=%.2f ok_p99_ms=%.2f ok_p999_ms=%.2f errors_by_code=%s",
                          Ms(ok.Percentile(0.5)), Ms(ok.Percentile(0.99)), Ms(ok.Percentile(0.999)),
                          ErrorsByCode(r, ":", ""));
  }
  return line;
}

std::string MethodJson(const MethodResult& r, double seconds) {
  const LatencyHistogram& h = r.latency;
  return absl::StrFormat(
      "\"calls\":%d,\"ok\":%d,\"errors\":%d,\"rate_per_s\":%.1f,\"goodput_per_s\":%.1f,"
      "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
      "\"mean\":%.3f},\"ok_latency_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f},"
      "\"errors_by_code\":{%s},\"throttled\":%d",
      h.count(), r.ok, r.error_count(), static_cast<double>(h.count()) / seconds,
      static_cast<double>(r.ok) / seconds, Ms(h.Percentile(0.5)), Ms(h.Percentile(0.9)),
      Ms(h.Percentile(0.99)), Ms(h.Percentile(0.999)), Ms(h.max()), h.mean() / 1000.0,
      Ms(r.ok_latency.Percentile(0.5)), Ms(r.ok_latency.Percentile(0.99)),
      Ms(r.ok_latency.Percentile(0.999)), ErrorsByCode(r, ":", "\""), r.throttled);
}

std::string NumberOrNull(double value) {
  return value < 0 ? "null" : absl::StrFormat("%.2f", value);
}

std::string PhaseJson(const Phase& p) {
  const MethodResult total = p.result.Total();
  const double seconds = Seconds(p);
  std::string json = absl::StrFormat(
      "{\"scenario\":\"%s\",\"concurrency\":%d,\"open_loop_rate\":%.1f,\"seconds\":%.3f,%s,"
      "\"server_cpu_us_per_call\":%s,\"client_cpu_us_per_call\":%s",
      p.scenario, p.concurrency, p.rate, seconds, MethodJson(total, seconds),
      NumberOrNull(CpuPerCall(p.server_cpu_seconds, total.latency.count())),
      NumberOrNull(CpuPerCall(p.client_cpu_seconds, total.latency.count())));
  if (p.rate > 0) {
    const LatencyHistogram& lag = p.result.issue_lag;
    absl::StrAppendFormat(&json, ",\"issue_lag_ms\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
                          Ms(lag.Percentile(0.5)), Ms(lag.Percentile(0.99)), Ms(lag.max()));
  }
  std::vector<std::string> methods;
  for (const auto& [method, r] : p.result.methods) {
    methods.push_back(absl::StrCat("\"", MethodName(method), "\":{", MethodJson(r, seconds), "}"));
  }
  absl::StrAppend(&json, ",\"methods\":{", absl::StrJoin(methods, ","), "}}");
  return json;
}

}  // namespace

std::optional<double> ProcessCpuSeconds(int pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string stat = buffer.str();
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (!in || paren == std::string::npos) return std::nullopt;
  const std::vector<std::string> fields =
      absl::StrSplit(absl::string_view(stat).substr(paren + 1), ' ', absl::SkipEmpty());
  // After the name: state is field 3 of stat(5), utime 14 and stime 15.
  if (fields.size() < 13) return std::nullopt;
  const double ticks = std::stod(fields[11]) + std::stod(fields[12]);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double OwnCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

double Goodput(const Phase& phase) {
  return static_cast<double>(phase.result.Total().ok) / Seconds(phase);
}

absl::string_view StatusCodeName(grpc::StatusCode code) {
  const size_t i = static_cast<size_t>(code);
  return i < std::size(kCodeNames) ? kCodeNames[i] : "UNKNOWN";
}

std::string PhaseText(const Phase& p, const Phase* baseline) {
  const MethodResult total = p.result.Total();
  const double seconds = Seconds(p);
  std::string text = absl::StrFormat("method=%s concurrency=%d %s", p.scenario, p.concurrency,
                                     MethodFields(total, seconds));
  if (p.rate > 0) {
    const LatencyHistogram& lag = p.result.issue_lag;
    absl::StrAppendFormat(&text,
                          " open_loop_rate=%g goodput_per_s=%.0f issue_lag_p50_ms=%.2f "
                          "issue_lag_p99_ms=%.2f",
                          p.rate, Goodput(p), Ms(lag.Percentile(0.5)), Ms(lag.Percentile(0.99)));
  }
  if (baseline != nullptr && Goodput(*baseline) > 0) {
    absl::StrAppendFormat(&text, " ratio_to_noop=%.3f", Goodput(p) / Goodput(*baseline));
  }
  const int64_t calls = total.latency.count();
  if (const double cpu = CpuPerCall(p.server_cpu_seconds, calls); cpu >= 0) {
    absl::StrAppendFormat(&text, " server_cpu_us_per_call=%.1f", cpu);
  }
  absl::StrAppendFormat(&text, " client_cpu_us_per_call=%.1f\n",
                        CpuPerCall(p.client_cpu_seconds, calls));
  if (p.result.methods.size() > 1) {
    for (const auto& [method, r] : p.result.methods) {
      absl::StrAppend(&text, "  of which method=", MethodName(method), " ",
                      MethodFields(r, seconds), "\n");
    }
  }
  return text;
}

std::string PoolText(const PoolFigures& pool) {
  return absl::StrFormat(
      "# reports: %d synthetic (as triagectl generate makes them), description %.0f bytes and "
      "submission %.0f bytes on average\n",
      pool.reports, pool.description_bytes_mean, pool.submission_bytes_mean);
}

std::string RunJson(const Phase& run, const Phase* baseline, const PoolFigures& pool) {
  const bool ratio = baseline != nullptr && Goodput(*baseline) > 0;
  return absl::StrFormat(
      "{\"reports\":{\"distinct\":%d,\"description_bytes_mean\":%.1f,"
      "\"submission_bytes_mean\":%.1f},\"baseline\":%s,\"run\":%s,\"ratio_to_noop\":%s}\n",
      pool.reports, pool.description_bytes_mean, pool.submission_bytes_mean,
      baseline != nullptr ? PhaseJson(*baseline) : "null", PhaseJson(run),
      ratio ? absl::StrFormat("%.4f", Goodput(run) / Goodput(*baseline)) : "null");
}

}  // namespace safeguarding::loadgen
