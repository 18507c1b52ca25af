// TriageServer: wires storage, the domain and the gRPC services into one running server.
//
// Used by main() and by the integration tests (which listen on port 0 in a temp dir).
// Owns everything it starts. Shutdown order: stop accepting, let in-flight RPCs finish
// (their commits complete), then commit what is pending and close the database.
#ifndef SAFEGUARDING_SERVICES_SERVER_H_
#define SAFEGUARDING_SERVICES_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "services/access_guard.h"
#include "services/administration_service.h"
#include "services/audit_anchors.h"
#include "services/call_budget.h"
#include "services/credentials.h"
#include "services/intake_service.h"
#include "services/metrics.h"
#include "services/queue_watch.h"
#include "services/rate_limiter.h"
#include "services/statistics_service.h"
#include "services/triage_desk_service.h"
#include "services/worker_pool.h"
#include "storage/report_store.h"
#include "triage/administration.h"
#include "triage/backups.h"
#include "triage/desk.h"
#include "triage/import.h"
#include "triage/intake.h"
#include "triage/policy.h"
#include "triage/recount.h"
#include "triage/retention.h"
#include "triage/statistics.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace safeguarding::services {

struct TlsOptions {
  // PEM files. cert and key serve TLS; client_ca also requires and verifies client
  // certificates (mutual TLS).
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

class TriageServer;

struct ServerOptions {
  // host:port; port 0 picks a free port (see TriageServer::port()).
  std::string listen = "127.0.0.1:50051";
  // host:port serving Prometheus metrics on /metrics (services/metrics.h), without
  // authentication, so loopback by default; port 0 picks a free port (see metrics_port());
  // empty serves none.
  std::string metrics_listen = "127.0.0.1:9464";
  std::string data_dir = "./var/db";
  // Encryption keys for report contents at rest (storage/key_ring.h). Required.
  std::string key_file;
  // Keys of the audit chain and request fingerprints (storage/audit_keys.h). Required.
  std::string audit_key_file;
  // Where the last published audit anchor is kept, outside the data directory; checked at
  // start (an older data directory is refused) and rewritten at each publication. Optional.
  std::string audit_anchor_file;
  // How often the audit anchor is published while entries are added.
  absl::Duration audit_anchor_interval = absl::Minutes(1);
  // Migrate a data directory written before audit keys existed (its first start only).
  bool migrate_audit_trail = false;
  // Principals, roles and token hashes (see credentials.h). Required.
  std::string credentials_file;
  // The triage policy file (triage/policy.h); empty: the shipped policy built in.
  std::string policy_file;
  // Where CreateBackup writes backups (triage/backups.h), outside the data directory;
  // empty: no backups. After each backup the oldest beyond backups_to_keep are deleted.
  std::string backup_dir;
  uint32_t backups_to_keep = 7;
  // Retention (triage/retention.h): --retention, the period per outcome after which a
  // closed report's contents are purged (empty: none), and --purge_daily_at, the time of
  // day (HH:MM UTC) of the daily purge (empty: none; PurgeExpiredReports still works).
  std::string retention;
  std::string purge_daily_at;
  // How often the daily purge looks at the clock (real time; tests shorten it).
  absl::Duration purge_schedule_poll = absl::Minutes(1);
  // Tests only (no flag sets it): purges leave their compaction owed, as a crash between a
  // purge and its compaction would (triage::RetentionOptions::leave_compaction_owed).
  bool purge_leaves_compaction_owed = false;
  // Tests only: called by Start once it has read the credentials and policy files, before
  // the store is opened (to change a file between that read and the server coming up).
  std::function<void()> after_files_read;
  // Called by Start once the services are built, before the server takes calls: a
  // SupervisedServer reopening the store applies a SIGHUP that came meanwhile, before any
  // call is served (one that comes after this, while Start finishes, is applied once the
  // server is published: a window of the anchor file's first write).
  std::function<void(TriageServer&)> before_listening;
  // Claim leases (triage/desk.h): the default and the longest a request may ask for.
  absl::Duration claim_lease = absl::Minutes(15);
  absl::Duration max_claim_lease = absl::Hours(1);
  // RocksDB's block cache and memtables (storage/engine.h); each at least 8 MB.
  storage::MemoryBudget memory;
  TlsOptions tls;
  // Plaintext instead of TLS: only when asked for, and only on loopback addresses unless
  // insecure_allow_remote is also set.
  bool insecure = false;
  bool insecure_allow_remote = false;
  // Largest request accepted; the largest valid report is well under 64 KiB.
  int max_receive_message_bytes = 1 << 20;
  // Concurrent calls per connection.
  int max_concurrent_streams = 100;
  // Calls worked on at once, per kind (call_budget.h): beyond, RESOURCE_EXHAUSTED at
  // once. 0: no limit.
  CallBudgetLimits call_budgets;
  // Workers for statistics queries, and for imports (one); both at `worker_nice` (0-19)
  // below the handler threads' CPU priority (worker_pool.h).
  int statistics_threads = 2;
  int worker_nice = 10;
  // Per-principal token bucket; <= 0 disables.
  double rate_limit_per_second = 200;
  double rate_limit_burst = 2000;
  // Group commit, and the free space kept on the data directory's file system
  // (commit.min_free_bytes, --min_free_disk_mb; 0 here: the flag's default is 1024 MB).
  storage::CommitterOptions commit;
  // Source of time; nullptr means the real clock.
  const common::Clock* clock = nullptr;
  // Storage environment; nullptr means the default. Tests inject disk faults with it.
  rocksdb::Env* storage_env = nullptr;
};

class TriageServer {
 public:
  // Opens the store and starts serving. INVALID_ARGUMENT naming the file, line and field
  // of a bad policy file; FAILED_PRECONDITION naming the file or directory when the
  // credentials, policy, keys, TLS files or data directory cannot be used, the audit
  // trail is behind the anchor file, or plaintext was asked for on a non-loopback address;
  // UNAVAILABLE when the address (or --metrics_listen's) cannot be bound.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<TriageServer>> Start(
      const ServerOptions& options);

  // Shuts down with a short grace period if Shutdown() was not called.
  ~TriageServer();

  int port() const { return port_; }
  // The port /metrics is served on; 0 when --metrics_listen is empty.
  int metrics_port() const { return metrics_->port(); }
  // What the metrics count (e.g. reports that arrive other than through SubmitReport).
  const ServerMetrics& metrics() const { return *metrics_; }
  std::string address() const;
  bool tls() const { return !options_.insecure; }

  // Re-reads the credentials file (SIGHUP). On error the old credentials stay in force.
  [[nodiscard]] absl::Status ReloadCredentials();
  // Re-reads the policy file (SIGHUP); the new policy assesses reports submitted from now
  // on. On error the old policy stays in force. FAILED_PRECONDITION without --policy.
  [[nodiscard]] absl::Status ReloadPolicy();
  // The version of the policy in force.
  std::string policy_version() const { return policy_->Get()->version(); }

  // Stops accepting calls; in-flight calls get until `grace` to finish, then are
  // cancelled. Thread-safe; later calls do nothing.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();

  // False while the store cannot write (health checks then answer NOT_SERVING, so an
  // orchestrator stops routing to this instance and can restart it).
  bool store_writable() const { return store_writable_.load(); }

 private:
  TriageServer() = default;

  // The steps of Start, in order.
  [[nodiscard]] absl::Status OpenStore(const common::Clock* clock);
  // Opens --backup_dir (if given): refused inside the data directory or in use elsewhere.
  [[nodiscard]] absl::Status OpenBackups();
  void BuildServices(const common::Clock* clock, CredentialStore credentials,
                     triage::TriagePolicy policy, triage::RetentionOptions retention);
  [[nodiscard]] absl::Status Listen(std::shared_ptr<grpc::ServerCredentials> transport);
  // Gives the metrics their sources and serves them on options_.metrics_listen.
  [[nodiscard]] absl::Status ServeMetrics(const common::Clock* clock);

  ServerOptions options_;
  common::RealClock real_clock_;
  // Before the store: the committer reports to it until the store is closed.
  std::unique_ptr<ServerMetrics> metrics_ = std::make_unique<ServerMetrics>();
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<triage::PolicyHolder> policy_;
  std::unique_ptr<triage::Intake> intake_;
  std::unique_ptr<triage::Desk> desk_;
  std::unique_ptr<QueueWatches> watches_;
  std::unique_ptr<triage::Administration> administration_;
  std::unique_ptr<triage::Statistics> statistics_;
  std::unique_ptr<triage::Importer> importer_;
  std::unique_ptr<triage::Recount> recount_;
  std::unique_ptr<triage::Backups> backups_;
  std::unique_ptr<triage::Retention> retention_;
  std::unique_ptr<RateLimiter> limiter_;
  std::unique_ptr<AccessGuard> guard_;
  std::unique_ptr<CallBudgets> call_budgets_;
  std::unique_ptr<WorkerPool> statistics_pool_;  // after the domain parts its tasks use
  std::unique_ptr<WorkerPool> bulk_pool_;
  std::unique_ptr<IntakeService> intake_service_;
  std::unique_ptr<TriageDeskService> desk_service_;
  std::unique_ptr<StatisticsService> statistics_service_;
  std::unique_ptr<AdministrationService> administration_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<AuditAnchorPublisher> anchors_;
  int port_ = 0;
  std::once_flag shutdown_once_;
  std::atomic<bool> store_writable_{true};
  std::atomic<bool> audit_intact_{true};  // see triage_audit_trail_intact
  std::atomic<bool> shutting_down_{false};
  absl::Mutex health_mu_;
  bool serving_ ABSL_GUARDED_BY(health_mu_) = false;  // server_ is built and started

  // Sets the health status from the store's state and the shutdown flag.
  void UpdateHealth();
  // Logs what opening found in the audit trail (a migration, damage, the anchor checked).
  void LogAuditTrailAtStart();
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_SERVER_H_
