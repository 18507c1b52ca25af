// One bounded run of triage-loadgen against a server: calls of a scenario (one method or a
// mix) kept `concurrency` in flight (closed loop), or started at `rate` per second whatever
// the answers (open loop: each call's latency is counted from the moment it was due, so a
// server that falls behind shows its queueing instead of hiding it by slowing the sender;
// `concurrency` then caps the calls in flight), until `requests` calls have been started
// or `max_duration` has passed, whichever comes first. Per method it keeps a log-linear
// latency histogram, the calls that succeeded and the errors by status code.
#ifndef SAFEGUARDING_TOOLS_LOADGEN_LOAD_RUN_H_
#define SAFEGUARDING_TOOLS_LOADGEN_LOAD_RUN_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "tools/loadgen/histogram.h"
#include "tools/loadgen/throttle.h"
#include "tools/loadgen/workload.h"

namespace safeguarding::loadgen {

// The statistics methods' range: [from, to), compared as [from, middle) against [middle, to).
struct StatsRange {
  absl::Time from, middle, to;
};

// What the statistics methods group by and filter on.
struct StatsGroups {
  std::vector<triage::v1::Dimension> by = {triage::v1::DIMENSION_REPORTER_TYPE};
  std::vector<triage::v1::DimensionFilter> filters;
};

struct RunOptions {
  Mix mix = Mix::Only(Method::kHealth);
  int concurrency = 64;
  double rate = 0;       // calls per second (open loop); 0: closed loop
  int64_t requests = 0;  // calls to start; 0: as many as fit in max_duration
  absl::Duration max_duration = absl::Seconds(60);
  // Each call's deadline, from the moment it was due (open loop: a client that wanted to
  // call at `due` gives up at due + call_timeout, however late the generator issued it).
  absl::Duration call_timeout = absl::Seconds(30);
  std::string run_id;     // prefix of request and source ids
  std::string report_id;  // for get
  StatsRange range;
  StatsGroups groups;
  int import_batch = 1000;
  // > 0: each call first asks an AdaptiveThrottle with this K (throttle.h), as a
  // well-behaved front end would; a call it refuses is not sent and counts as throttled.
  double client_throttle = 0;
};

struct MethodResult {
  LatencyHistogram latency;     // microseconds, of every answered call, failed ones included
  LatencyHistogram ok_latency;  // of the calls that succeeded only
  int64_t ok = 0;
  std::map<grpc::StatusCode, int64_t> errors;
  // Refused by the client's own throttle, never sent (not in `latency` nor `errors`).
  int64_t throttled = 0;

  int64_t error_count() const;
  void Merge(const MethodResult& other);
};

struct RunResult {
  absl::Duration elapsed;
  std::map<Method, MethodResult> methods;  // the methods that were called
  // Open loop: how late each call was issued after it was due, in microseconds. A p99 near
  // the calls' timeout means the generator, not the server, was the bottleneck.
  LatencyHistogram issue_lag;

  MethodResult Total() const;
};

class LoadRun {
 public:
  // `pool` is used by submit and import and must outlive the run.
  LoadRun(const std::vector<std::shared_ptr<grpc::Channel>>& channels, RunOptions options,
          Tokens tokens, const ReportPool* pool);
  LoadRun(const LoadRun&) = delete;
  LoadRun& operator=(const LoadRun&) = delete;

  // Runs to the end (every call answered) and returns what happened. Once only.
  RunResult Run();

 private:
  struct Call;
  struct CycleCall;
  template <typename Request, typename Response>
  struct UnaryCall;
  struct Stubs {
    std::unique_ptr<triage::v1::TriageDesk::Stub> desk;
    std::unique_ptr<grpc::GenericStub> generic;
    std::unique_ptr<triage::v1::Statistics::Stub> statistics;
    std::unique_ptr<triage::v1::Administration::Stub> admin;
  };

  void Pace();
  void StartNext();
  void Issue(int64_t n, absl::Time due);
  void IssueDesk(Method method, absl::Time due, Stubs& stubs);
  void IssueStatistics(Method method, absl::Time due, Stubs& stubs);
  void IssueCycle(absl::Time due, Stubs& stubs);
  void IssueHealth(absl::Time due, Stubs& stubs);
  template <typename C>
  C* NewCall(Method method, absl::Time due);
  void Done(Call* call, const grpc::Status& status);
  void MaybeFinish();
  bool Open() const { return options_.rate > 0; }

  const RunOptions options_;
  const Tokens bearers_;  // each role's token as its "authorization" value: "Bearer <token>"
  const ReportPool* const pool_;
  std::vector<Stubs> stubs_;
  absl::Time start_;
  absl::Time deadline_;
  std::atomic<int64_t> issued_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> pacing_done_{false};
  std::atomic<int> callbacks_running_{0};
  LatencyHistogram issue_lag_;                  // written by the pacing thread only
  std::unique_ptr<AdaptiveThrottle> throttle_;  // with options_.client_throttle > 0
  std::mt19937_64 throttle_random_;             // the pacing thread's only
  absl::Notification done_;
  absl::Mutex mu_;
  std::map<Method, MethodResult> results_ ABSL_GUARDED_BY(mu_);
};

}  // namespace safeguarding::loadgen

#endif  // SAFEGUARDING_TOOLS_LOADGEN_LOAD_RUN_H_
