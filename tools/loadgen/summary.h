// What triage-loadgen prints about a run: one line of key=value fields per phase (the
// no-op baseline, then the scenario, then each method of a mix), or with --json one JSON
// object with the same figures. Every figure of the scenario is also given as a ratio to the
// baseline's, measured against the same server in the same run, because on a shared
// machine a ratio moves less than a rate. Nothing printed comes from a report or a token.
#ifndef SAFEGUARDING_TOOLS_LOADGEN_SUMMARY_H_
#define SAFEGUARDING_TOOLS_LOADGEN_SUMMARY_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "tools/loadgen/load_run.h"

namespace safeguarding::loadgen {

// CPU time (user + system) a process has used, from /proc/PID/stat; nullopt when it cannot
// be read (no such process, not ours).
std::optional<double> ProcessCpuSeconds(int pid);
// This process's own CPU time (getrusage).
double OwnCpuSeconds();

// One run and how it was driven.
struct Phase {
  std::string scenario;  // a method's name, or "mix"
  int concurrency = 0;
  double rate = 0;  // open loop; 0: closed
  RunResult result;
  std::optional<double> server_cpu_seconds;  // over the run, when --server_pid was given
  double client_cpu_seconds = 0;             // the load generator's own over the run
};

// Answered calls that succeeded, per second.
double Goodput(const Phase& phase);

// "OK", "UNAVAILABLE", ... (the names of grpc::StatusCode).
absl::string_view StatusCodeName(grpc::StatusCode code);

// The key=value lines of a phase: the whole of it, then (a mix) one line per method.
// `baseline` adds ratio_to_noop (goodput over the baseline's).
std::string PhaseText(const Phase& phase, const Phase* baseline);
// The reports submitted and imported: how many distinct ones, and their mean sizes.
struct PoolFigures {
  size_t reports = 0;
  double description_bytes_mean = 0;
  double submission_bytes_mean = 0;
};

// "# reports: ..." (a comment line: scripts reading key=value lines skip it).
std::string PoolText(const PoolFigures& pool);
// {"reports":{...}, "baseline":{...}|null, "run":{...}, "ratio_to_noop":...|null}
std::string RunJson(const Phase& run, const Phase* baseline, const PoolFigures& pool);

}  // namespace safeguarding::loadgen

#endif  // SAFEGUARDING_TOOLS_LOADGEN_SUMMARY_H_
