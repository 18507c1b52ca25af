// triage-loadgen: a bounded load generator for the triage server, loopback only.
//
// Runs a scenario (one method, or --method=mix: a weighted mix of them) closed loop
// (--concurrency calls always in flight) or open loop (--rate calls a second whatever the
// answers, latency counted from each call's intended start), until --requests calls have
// been started or --max_duration has passed, then prints throughput, goodput, latency
// percentiles from a log-linear histogram (p50/p90/p99/p99.9/max), errors by status code,
// and the load generator's and (with --server_pid) the server's CPU per call. Before it, by
// default, the no-op baseline (grpc.health.v1.Health/Check) runs against the same server
// with the same concurrency and connections, so that every result is also a ratio to it.
// Methods:
//   health  grpc.health.v1.Health/Check, the no-op
//   submit  ReportIntake.SubmitReport: realistic reports (those of `triagectl generate`),
//           a distinct request id per call (durable writes)
//   get     TriageDesk.GetReport of --report_id (each read is audited: one durable write)
//   claim   TriageDesk.ClaimNextReport (a durable claim each; needs waiting reports)
//   cycle   ClaimNextReport, then RecordDecision of what it got: one triage cycle
//   volumes Statistics.GetVolumes: --stats_from..--stats_to by day, grouped by --stats_by
//           (default: reporter type) and filtered by --stats_filter
//   compare Statistics.CompareVolumes: the first half of that range against the second
//   shifts  Statistics.DetectShifts over that range
//   import  Administration.ImportReports, --import_batch historical reports a call (new
//           source ids each): throughput counts calls; reports/s = rate x batch
//   mix     each call one of --mix's methods in proportion to its weight
// Tokens: --token or TRIAGE_LOADGEN_TOKEN for every role, replaced per role by
// TRIAGE_LOADGEN_INTAKE_TOKEN, _TRIAGER_TOKEN, _STATISTICS_TOKEN and _ADMIN_TOKEN (the
// environment keeps them out of `ps`). Calls are spread over --channels connections,
// plaintext or TLS (--tls_ca). It refuses any target that is not a loopback address.
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/flags_usage.h"
#include "services/net_address.h"
#include "tools/loadgen/load_run.h"
#include "tools/loadgen/summary.h"
#include "tools/loadgen/workload.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "loopback host:port of the server");
ABSL_FLAG(std::string, method, "submit",
          "health | submit | get | claim | cycle | volumes | compare | shifts | import | mix "
          "(see --mix); claim and cycle need reports waiting");
ABSL_FLAG(std::string, mix, "submit:70,cycle:20,volumes:4,compare:3,shifts:3",
          "with --method=mix: METHOD:WEIGHT,... (weights 1-1000); the default is a day on a "
          "busy desk: mostly new reports, triage keeping up, dashboards refreshing");
ABSL_FLAG(std::string, report_id, "", "report to read with --method=get");
ABSL_FLAG(int32_t, concurrency, 64, "calls kept in flight (open loop: the most in flight)");
ABSL_FLAG(int32_t, channels, 1,
          "connections to the server, calls spread over them in turn (each its own HTTP/2 "
          "connection)");
ABSL_FLAG(int64_t, requests, 20000, "calls to start (0: as many as --max_duration allows)");
ABSL_FLAG(double, rate, 0,
          "open loop: start calls at this many per second whatever the answers (latency counted "
          "from each call's intended start, so queueing is not hidden); --concurrency then caps "
          "the calls in flight. 0: closed loop (--concurrency calls always in flight)");
ABSL_FLAG(absl::Duration, max_duration, absl::Seconds(60),
          "stop starting calls after this long (each phase; at most 1h)");
ABSL_FLAG(absl::Duration, call_timeout, absl::Seconds(30),
          "each call's deadline, from when it is due (open loop: its place in the schedule, "
          "however late the generator sends it; closed loop: when sent). A client that gives "
          "up: the server drops what is still waiting for it");
ABSL_FLAG(double, client_throttle, 0,
          "> 0: throttle on the client as the SRE book's adaptive throttling does, with this K "
          "(2 is usual): past K requests per accepted one over the last 2 s, refuse locally "
          "with a growing probability, as a well-behaved front end would. 0: off");
ABSL_FLAG(bool, baseline, true,
          "first run the no-op (Health/Check) with the same concurrency and connections, and "
          "give every result as a ratio to it too");
ABSL_FLAG(int64_t, baseline_requests, 20000, "calls of the baseline");
ABSL_FLAG(std::string, token, "",
          "bearer token for every role (prefer TRIAGE_LOADGEN_TOKEN and the per-role variables: "
          "a flag shows in ps)");
ABSL_FLAG(std::string, run_id, "", "prefix of request and source ids (default: from the time)");
ABSL_FLAG(std::string, stats_from, "2025-12-01",
          "first day (Europe/London) of the statistics methods' range");
ABSL_FLAG(std::string, stats_to, "2026-12-01", "the day after the last of that range");
ABSL_FLAG(std::vector<std::string>, stats_by, {"REPORTER_TYPE"},
          "the statistics methods' group_by: 0-2 dimensions, e.g. REGION or REPORTER_TYPE,REGION");
ABSL_FLAG(std::vector<std::string>, stats_filter, {},
          "the statistics methods' filters: DIMENSION=VALUE, e.g. REPORTER_TYPE=PROFESSIONAL");
ABSL_FLAG(int32_t, import_batch, 1000, "reports per ImportReports call (1-1000)");
ABSL_FLAG(int32_t, reports, 5000,
          "distinct synthetic reports to submit and import, generated before the run (1-100000)");
ABSL_FLAG(uint64_t, seed, 1, "seed of the synthetic reports");
ABSL_FLAG(int32_t, server_pid, 0, "the server's process id: report its CPU per call (/proc)");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(10),
          "give up when a connection is not up after this long");
ABSL_FLAG(bool, reports_summary, false,
          "print how many synthetic reports there are and their mean sizes, and exit: no calls");
ABSL_FLAG(bool, json, false, "print one JSON object instead of key=value lines");
ABSL_FLAG(std::string, tls_ca, "", "TLS: verify the server with this CA certificate (PEM)");
ABSL_FLAG(std::string, tls_cert, "", "mutual TLS: this client certificate chain (PEM)");
ABSL_FLAG(std::string, tls_key, "", "mutual TLS: the private key of --tls_cert (PEM)");
ABSL_FLAG(std::string, tls_server_name, "",
          "TLS: the name the server's certificate must have (default: the host of --server)");

namespace {

namespace lg = ::safeguarding::loadgen;
namespace v1 = ::safeguarding::triage::v1;

int Fail(const std::string& message, int code = 2) {
  std::fprintf(stderr, "triage-loadgen: %s\n", message.c_str());
  return code;
}

[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return absl::InvalidArgumentError("cannot read " + path);
  std::string text;
  char buffer[4096];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, f)) > 0;) text.append(buffer, n);
  std::fclose(f);
  return text;
}

[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials() {
  const std::string ca = absl::GetFlag(FLAGS_tls_ca), cert = absl::GetFlag(FLAGS_tls_cert),
                    key = absl::GetFlag(FLAGS_tls_key);
  if (ca.empty()) {
    if (!cert.empty() || !key.empty())
      return absl::InvalidArgumentError("--tls_cert needs --tls_ca");
    return grpc::InsecureChannelCredentials();
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  grpc::SslCredentialsOptions ssl;
  for (const auto& [path, field] :
       {std::pair{ca, &ssl.pem_root_certs}, std::pair{cert, &ssl.pem_cert_chain},
        std::pair{key, &ssl.pem_private_key}}) {
    if (path.empty()) continue;
    absl::StatusOr<std::string> pem = ReadFile(path);
    if (!pem.ok()) return pem.status();
    *field = *std::move(pem);
  }
  return grpc::SslCredentials(ssl);
}

// Distinct channel arguments give each channel a connection of its own.
[[nodiscard]] absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> OpenChannels(
    const std::string& server, const std::shared_ptr<grpc::ChannelCredentials>& credentials) {
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("triage-loadgen.channel", i);
    // gRPC would follow grpc_proxy / http(s)_proxy from the environment, even for a loopback
    // address: the calls (and their tokens) must not leave the machine.
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
    if (const std::string name = absl::GetFlag(FLAGS_tls_server_name); !name.empty()) {
      args.SetSslTargetNameOverride(name);
    }
    channels.push_back(grpc::CreateCustomChannel(server, credentials, args));
    if (!channels.back()->WaitForConnected(
            absl::ToChronoTime(absl::Now() + absl::GetFlag(FLAGS_connect_timeout)))) {
      return absl::UnavailableError("cannot connect to " + server);
    }
  }
  return channels;
}

[[nodiscard]] absl::StatusOr<lg::StatsRange> StatsRangeFromFlags() {
  absl::TimeZone london;
  absl::CivilDay from, to;
  if (!absl::LoadTimeZone("Europe/London", &london) ||
      !absl::ParseCivilTime(absl::GetFlag(FLAGS_stats_from), &from) ||
      !absl::ParseCivilTime(absl::GetFlag(FLAGS_stats_to), &to) || to <= from) {
    return absl::InvalidArgumentError("--stats_from < --stats_to, as YYYY-MM-DD");
  }
  return lg::StatsRange{absl::FromCivil(from, london),
                        absl::FromCivil(from + (to - from) / 2, london),
                        absl::FromCivil(to, london)};
}

[[nodiscard]] absl::StatusOr<lg::StatsGroups> StatsGroupsFromFlags() {
  const auto dimension = [](absl::string_view name) -> std::optional<v1::Dimension> {
    v1::Dimension d;
    if (!v1::Dimension_Parse(absl::StrCat("DIMENSION_", name), &d) ||
        d == v1::DIMENSION_UNSPECIFIED) {
      return std::nullopt;
    }
    return d;
  };
  lg::StatsGroups groups;
  groups.by.clear();
  for (const std::string& name : absl::GetFlag(FLAGS_stats_by)) {
    std::optional<v1::Dimension> d = dimension(name);
    if (!d) return absl::InvalidArgumentError("--stats_by: not a dimension: " + name);
    groups.by.push_back(*d);
  }
  for (const std::string& filter : absl::GetFlag(FLAGS_stats_filter)) {
    // The value is all after the first '=' (the server judges it).
    const std::pair<std::string, std::string> parts =
        absl::StrSplit(filter, absl::MaxSplits('=', 1));
    std::optional<v1::Dimension> d = dimension(parts.first);
    if (!d || parts.second.empty()) {
      return absl::InvalidArgumentError("--stats_filter is DIMENSION=VALUE: " + filter);
    }
    v1::DimensionFilter& f = groups.filters.emplace_back();
    f.set_dimension(*d);
    f.add_values(parts.second);
  }
  return groups;
}

// The scenario's options from the flags; INVALID_ARGUMENT naming the flag.
[[nodiscard]] absl::StatusOr<lg::RunOptions> OptionsFromFlags() {
  lg::RunOptions o;
  std::optional<lg::Method> method = lg::ParseMethod(absl::GetFlag(FLAGS_method));
  if (!method) {
    return absl::InvalidArgumentError(
        "--method must be health, submit, get, claim, cycle, volumes, compare, shifts, import or "
        "mix");
  }
  if (*method == lg::Method::kMix) {
    absl::StatusOr<lg::Mix> mix = lg::Mix::Parse(absl::GetFlag(FLAGS_mix));
    if (!mix.ok()) return mix.status();
    o.mix = *std::move(mix);
  } else {
    o.mix = lg::Mix::Only(*method);
  }
  o.concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  o.rate = std::max(0.0, absl::GetFlag(FLAGS_rate));
  o.requests = std::max<int64_t>(0, absl::GetFlag(FLAGS_requests));
  o.max_duration = absl::GetFlag(FLAGS_max_duration);
  if (o.max_duration <= absl::ZeroDuration() || o.max_duration > absl::Hours(1)) {
    return absl::InvalidArgumentError("--max_duration is more than 0 and at most 1h");
  }
  o.client_throttle = absl::GetFlag(FLAGS_client_throttle);
  if (o.client_throttle != 0 && o.client_throttle < 1) {
    return absl::InvalidArgumentError("--client_throttle is 0 (off) or at least 1");
  }
  o.call_timeout = absl::GetFlag(FLAGS_call_timeout);
  if (o.call_timeout <= absl::ZeroDuration() || o.call_timeout > absl::Hours(1)) {
    return absl::InvalidArgumentError("--call_timeout is more than 0 and at most 1h");
  }
  o.import_batch = absl::GetFlag(FLAGS_import_batch);
  if (o.import_batch < 1 || o.import_batch > 1000) {
    return absl::InvalidArgumentError("--import_batch is 1 to 1000");
  }
  o.report_id = absl::GetFlag(FLAGS_report_id);
  const std::vector<lg::Method> methods = o.mix.methods();
  if (o.report_id.empty() && std::count(methods.begin(), methods.end(), lg::Method::kGet) > 0) {
    return absl::InvalidArgumentError("--method=get needs --report_id");
  }
  absl::StatusOr<lg::StatsRange> range = StatsRangeFromFlags();
  if (!range.ok()) return range.status();
  o.range = *range;
  absl::StatusOr<lg::StatsGroups> groups = StatsGroupsFromFlags();
  if (!groups.ok()) return groups.status();
  o.groups = *std::move(groups);
  o.run_id = absl::GetFlag(FLAGS_run_id);
  if (o.run_id.empty()) o.run_id = absl::StrCat("loadgen-", absl::ToUnixMicros(absl::Now()));
  return o;
}

lg::Phase RunPhase(const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                   const lg::RunOptions& options, const lg::Tokens& tokens,
                   const lg::ReportPool* pool, std::string scenario) {
  const int pid = absl::GetFlag(FLAGS_server_pid);
  const std::optional<double> server0 =
      pid > 0 ? lg::ProcessCpuSeconds(pid) : std::optional<double>();
  const double client0 = lg::OwnCpuSeconds();
  lg::LoadRun run(channels, options, tokens, pool);
  lg::Phase phase{std::move(scenario), options.concurrency, options.rate, run.Run()};
  phase.client_cpu_seconds = lg::OwnCpuSeconds() - client0;
  if (const std::optional<double> server1 = pid > 0 ? lg::ProcessCpuSeconds(pid) : std::nullopt;
      server0 && server1) {
    phase.server_cpu_seconds = *server1 - *server0;
  }
  return phase;
}

lg::PoolFigures Figures(const lg::ReportPool& pool) {
  return {pool.size(), pool.mean_description_bytes(), pool.mean_submission_bytes()};
}

}  // namespace

int main(int argc, char** argv) {
  safeguarding::common::SetFlagsUsage("Bounded loopback load generator for triage-server.",
                                      "tools/loadgen/main.cc");
  absl::ParseCommandLine(argc, argv);
  // As in triage-server: Debian's Abseil would feed every lock to its deadlock detector,
  // client CPU that the figures would count against each call.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string server = absl::GetFlag(FLAGS_server);
  if (!safeguarding::services::IsLoopbackAddress(server)) {
    return Fail("refusing non-loopback target " + server);
  }
  absl::StatusOr<lg::RunOptions> options = OptionsFromFlags();
  if (!options.ok()) return Fail(std::string(options.status().message()));
  std::string fallback = absl::GetFlag(FLAGS_token);
  if (const char* env = std::getenv("TRIAGE_LOADGEN_TOKEN"); fallback.empty() && env != nullptr) {
    fallback = env;
  }
  absl::StatusOr<lg::Tokens> tokens = lg::Tokens::FromEnvironment(fallback);
  if (!tokens.ok()) return Fail(std::string(tokens.status().message()));
  const int pool_size = absl::GetFlag(FLAGS_reports);
  if (pool_size < 1 || pool_size > 100000) return Fail("--reports is 1 to 100000");
  if (absl::GetFlag(FLAGS_reports_summary)) {
    const lg::ReportPool pool(pool_size, absl::GetFlag(FLAGS_seed), absl::Now());
    std::fputs(lg::PoolText(Figures(pool)).c_str(), stdout);
    return 0;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = Credentials();
  if (!credentials.ok()) return Fail(std::string(credentials.status().message()));
  absl::StatusOr<std::vector<std::shared_ptr<grpc::Channel>>> channels =
      OpenChannels(server, *credentials);
  if (!channels.ok()) return Fail(std::string(channels.status().message()), 4);

  const lg::ReportPool pool(pool_size, absl::GetFlag(FLAGS_seed), absl::Now());
  std::optional<lg::Phase> baseline;
  if (absl::GetFlag(FLAGS_baseline) && absl::GetFlag(FLAGS_method) != "health") {
    lg::RunOptions noop = *options;
    noop.mix = lg::Mix::Only(lg::Method::kHealth);
    noop.rate = 0;
    noop.requests = std::max<int64_t>(1, absl::GetFlag(FLAGS_baseline_requests));
    baseline = RunPhase(*channels, noop, *tokens, &pool, "health");
  }
  const lg::Phase run = RunPhase(*channels, *options, *tokens, &pool, absl::GetFlag(FLAGS_method));
  const lg::Phase* base = baseline ? &*baseline : nullptr;
  const lg::PoolFigures figures = Figures(pool);
  if (absl::GetFlag(FLAGS_json)) {
    std::fputs(lg::RunJson(run, base, figures).c_str(), stdout);
  } else {
    std::fputs(lg::PoolText(figures).c_str(), stdout);
    if (base != nullptr) std::fputs(("baseline " + lg::PhaseText(*base, nullptr)).c_str(), stdout);
    std::fputs(lg::PhaseText(run, base).c_str(), stdout);
  }
  return 0;
}
