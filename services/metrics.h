// ServerMetrics: the server's Prometheus metrics, served in the text format on /metrics.
//
// What is counted: every RPC by method and status code with its latency; reports received
// by reporter type and priority; claims; decisions by outcome; group commits (changes per
// fsync, fsync latency); whether the store can write; and, computed at each scrape from
// the in-memory queue index, per queue and priority the waiting, claimed and past-due
// reports and the oldest wait. Label values come only from closed sets (the contract's
// enums and method names, gRPC status codes, the queue names of the policy and the index):
// never report contents, ids, principals or tokens.
//
// Small counts (triage/small_counts.h): a series that counts reports (received, claims,
// decisions, queue depth, claimed, past due) is left out of the scrape while its value is
// 1..k-1; 0 and values of k or more are shown exactly. The filter sits between the
// registry and the endpoint (Scrape and /metrics both go through it), so nothing reaches a
// scraper unfiltered. RPC, latency and commit series are operational and not filtered.
//
// The endpoint has no authentication: it listens on loopback unless told otherwise.
//
// Hot path: counting is an index into label children created up front or on first use
// (a mutex only then), and prometheus-cpp's atomic adds (its histograms take a short lock
// of their own). Received reports are counted by triage::Intake's observer, which knows
// the priority it assessed and tells a stored report from a replayed answer. Scrapes
// take the index's lock for one pass over its queues, past-due reports and live claims.
// Thread-safe.
#ifndef SAFEGUARDING_SERVICES_METRICS_H_
#define SAFEGUARDING_SERVICES_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "services/call_budget.h"
#include "services/rpc_observer.h"
#include "storage/queue_index.h"
#include "triage/policy.h"
#include "triage/small_counts.h"

namespace prometheus {
class Counter;
}  // namespace prometheus

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

// Where the gauges computed at scrape time come from. Each may be missing (nullptr or
// empty): its series are then left out.
struct MetricSources {
  const storage::QueueIndex* queues = nullptr;
  // The declared queues are shown (at 0) even while empty.
  const triage::PolicyHolder* policy = nullptr;
  const common::Clock* clock = nullptr;  // nullptr: the real clock
  std::function<bool()> store_writable;
  // False once the audit trail was found damaged (at open or by VerifyAuditLog).
  std::function<bool()> audit_trail_intact;
  // When the newest backup was taken (nullopt: none yet); unset without --backup_dir.
  std::function<std::optional<absl::Time>()> last_backup_time;
  // Reports purged by retention and failed purges since start (both set, or neither).
  std::function<uint64_t()> reports_purged;
  std::function<uint64_t()> purge_failures;
  // Calls in flight, limits and refusals per budget; nullptr: not shown.
  const CallBudgets* call_budgets = nullptr;
  // How long the oldest change queued for the disk has waited (Committer::backlog).
  std::function<absl::Duration()> write_backlog;
  // Failed authentications answered without an audit entry (AccessGuard); unset: not shown.
  std::function<uint64_t()> refusals_unaudited;
};

class ServerMetrics final : public RpcObserver {
 public:
  // k: the smallest count of reports a series shows (>= 1; 1 suppresses nothing).
  explicit ServerMetrics(uint64_t minimum_count = triage::kDefaultMinimumCount);
  ~ServerMetrics() override;
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // Set once, before Serve and before any call is counted.
  void SetSources(MetricSources sources);

  // Serves /metrics on `listen` (host:port; port 0 picks a free port, see port()); empty
  // serves nothing. INVALID_ARGUMENT for an address not of that form; UNAVAILABLE naming
  // --metrics_listen when it cannot be bound. Call once.
  [[nodiscard]] absl::Status Serve(const std::string& listen);
  // Stops serving and waits for scrapes in progress (before the sources go away).
  void StopServing();
  // The port /metrics is served on; 0 when not serving.
  int port() const { return port_; }

  // The text exposition format, exactly what /metrics serves.
  std::string Scrape() const;

  // RpcObserver: a call of `rpc` ended.
  void RpcDone(const triage::Rpc& rpc, grpc::StatusCode code,
               absl::Duration elapsed) const override;

  // A report was stored by SubmitReport (the intake's observer).
  void ReportReceived(v1::ReporterType reporter_type, v1::Priority priority) const;
  // A ClaimNextReport that handed out a report.
  void ReportClaimed() const;
  // A RecordDecision that closed a report with `outcome`.
  void DecisionRecorded(v1::Outcome outcome) const;
  // A group commit made `changes` durable; its synced write took `sync`.
  void BatchSynced(size_t changes, absl::Duration sync) const;
  // The committer dropped `changes` unwritten: their calls had ended.
  void ChangesDropped(size_t changes) const;

  uint64_t minimum_count() const { return minimum_count_; }

 private:
  struct State;      // the registry, families and cached label children
  class ScrapeView;  // what the endpoint collects: the registry, filtered, plus gauges

  prometheus::Counter& ReportReceivedCounter(v1::ReporterType reporter_type,
                                             v1::Priority priority) const;
  prometheus::Counter& DecisionCounter(v1::Outcome outcome) const;

  const uint64_t minimum_count_;
  std::unique_ptr<State> state_;
  int port_ = 0;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_METRICS_H_
