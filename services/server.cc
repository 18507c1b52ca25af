#include "services/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/log.h"
#include "services/net_address.h"

namespace safeguarding::services {
namespace {

[[nodiscard]] absl::StatusOr<std::string> ReadPem(const std::string& path, absl::string_view what) {
  std::ifstream in(path);
  std::stringstream text;
  if (in) text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(what, " ", path, ": cannot read"));
  }
  return text.str();
}

[[nodiscard]] absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TransportCredentials(
    const ServerOptions& options) {
  if (options.insecure) {
    if (!options.insecure_allow_remote && !IsLoopbackAddress(options.listen)) {
      return absl::FailedPreconditionError(
          absl::StrCat("refusing plaintext on non-loopback address ", options.listen,
                       ": serve TLS (--tls_cert, --tls_key) or add --insecure_allow_remote"));
    }
    return grpc::InsecureServerCredentials();
  }
  const TlsOptions& tls = options.tls;
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    return absl::FailedPreconditionError(
        "TLS needs --tls_cert and --tls_key (or --insecure for plaintext on loopback)");
  }
  absl::StatusOr<std::string> cert = ReadPem(tls.cert_file, "TLS certificate");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(tls.key_file, "TLS key");
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(tls.client_ca_file, "client CA");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    ssl.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(ssl);
}

[[nodiscard]] absl::StatusOr<CredentialStore> LoadCredentials(const ServerOptions& options) {
  if (options.credentials_file.empty()) {
    return absl::FailedPreconditionError("--credentials_file is required");
  }
  absl::StatusOr<CredentialStore> credentials = CredentialStore::LoadFile(options.credentials_file);
  if (credentials.ok() && credentials->certificate_count() > 0 &&
      options.tls.client_ca_file.empty()) {
    Log(Severity::kWarning,
        "%s has certificate entries, but without --tls_client_ca no client certificate is "
        "requested, so they admit no one",
        options.credentials_file);
  }
  return credentials;
}

[[nodiscard]] absl::StatusOr<triage::TriagePolicy> LoadPolicy(const ServerOptions& options) {
  if (options.policy_file.empty()) return triage::TriagePolicy::Shipped();
  return triage::TriagePolicy::LoadFile(options.policy_file);
}

// The anchor of --audit_anchor_file for the store to check, if the file exists.
[[nodiscard]] absl::StatusOr<std::optional<storage::AuditAnchorPoint>> AnchorToCheck(
    const ServerOptions& options) {
  if (options.audit_anchor_file.empty()) return std::nullopt;
  absl::StatusOr<std::optional<storage::AuditAnchorPoint>> anchor =
      ReadAnchorFile(options.audit_anchor_file);
  if (anchor.ok() && !anchor->has_value()) {
    Log(Severity::kWarning,
        "audit anchor file %s does not exist: nothing to check the trail against at this "
        "start. Expected only on the first start with it; otherwise it was removed or its "
        "volume is not mounted. It is written from now on.",
        options.audit_anchor_file);
  }
  return anchor;
}

// The channel settings of every listening port.
void ConfigureTransport(const ServerOptions& options, grpc::ServerBuilder& builder) {
  // Without this, a second server on the same port would silently share its traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  // Keepalive: ping idle clients every minute, drop them if they do not answer in 20 s,
  // and refuse clients that ping more often than every 30 s without data.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 30 * 1000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 30 * 60 * 1000);
}

}  // namespace

namespace {

// The lease flags: both at least the shortest lease a claim may have, the default no longer
// than the maximum. Checked before anything is opened.
[[nodiscard]] absl::Status CheckLeases(const ServerOptions& options) {
  constexpr absl::Duration kLongestLease = absl::Hours(24);  // a claim must end some day
  if (options.max_claim_lease < triage::kMinLease || options.max_claim_lease > kLongestLease) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_claim_lease ", absl::FormatDuration(options.max_claim_lease),
                     ": must be at least ", absl::FormatDuration(triage::kMinLease),
                     " and at most ", absl::FormatDuration(kLongestLease)));
  }
  if (options.claim_lease < triage::kMinLease || options.claim_lease > options.max_claim_lease) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--claim_lease ", absl::FormatDuration(options.claim_lease), ": must be at least ",
        absl::FormatDuration(triage::kMinLease), " and at most --max_claim_lease (",
        absl::FormatDuration(options.max_claim_lease), ")"));
  }
  return absl::OkStatus();
}

// RocksDB's memory flags: too small a cache or memtable budget makes every read a disk read
// and every few writes a flush.
[[nodiscard]] absl::Status CheckMemory(const storage::MemoryBudget& memory) {
  constexpr size_t kSmallest = size_t{8} << 20;
  constexpr size_t kLargest = size_t{1} << 40;
  for (const auto& [flag, bytes] : {std::pair{"--block_cache_mb", memory.block_cache_bytes},
                                    std::pair{"--memtable_mb", memory.memtable_bytes}}) {
    if (bytes < kSmallest || bytes > kLargest) {
      return absl::InvalidArgumentError(
          absl::StrCat(flag, " ", bytes >> 20, ": must be at least 8 and at most 1048576 (MB)"));
    }
  }
  return absl::OkStatus();
}

[[nodiscard]] absl::StatusOr<triage::RetentionOptions> RetentionFrom(const ServerOptions& options) {
  triage::RetentionOptions retention;
  absl::StatusOr<std::map<v1::Outcome, absl::Duration>> periods =
      triage::ParseRetentionPeriods(options.retention);
  if (!periods.ok()) return periods.status();
  retention.periods = *std::move(periods);
  absl::StatusOr<std::optional<absl::Duration>> daily =
      triage::ParseDailyAt(options.purge_daily_at);
  if (!daily.ok()) return daily.status();
  retention.daily_at = *daily;
  retention.schedule_poll = options.purge_schedule_poll;
  retention.leave_compaction_owed = options.purge_leaves_compaction_owed;
  retention.on_owed_compaction = [](size_t ranges, const absl::Status& how) {
    if (how.ok()) {
      Log(Severity::kInfo,
          "retention: compacted the %d id ranges an interrupted purge left (its contents are "
          "out of the store's files now)",
          static_cast<int>(ranges));
    } else {
      Log(Severity::kError,
          "retention: the compaction an interrupted purge left failed (%s); it is tried again "
          "at the next start",
          how.ToString());
    }
  };
  retention.on_report_failed = [](const std::string& report_id, const absl::Status& why) {
    Log(Severity::kError, "retention: report %s could not be purged (skipped): %s", report_id,
        why.ToString());
  };
  retention.on_run = [](const triage::Caller& by,
                        const absl::StatusOr<v1::PurgeExpiredReportsResponse>& result) {
    Log(result.ok() ? Severity::kInfo : Severity::kError, "%s",
        triage::DescribePurgeRun(by, result));
  };
  return retention;
}

}  // namespace

absl::StatusOr<std::unique_ptr<TriageServer>> TriageServer::Start(const ServerOptions& options) {
  std::unique_ptr<TriageServer> s(new TriageServer());
  s->options_ = options;
  const common::Clock* clock = options.clock ? options.clock : &s->real_clock_;

  if (absl::Status leases = CheckLeases(options); !leases.ok()) return leases;
  if (absl::Status memory = CheckMemory(options.memory); !memory.ok()) return memory;
  if (absl::Status budgets = options.call_budgets.Check(); !budgets.ok()) return budgets;
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> transport =
      TransportCredentials(options);
  if (!transport.ok()) return transport.status();
  absl::StatusOr<CredentialStore> credentials = LoadCredentials(options);
  if (!credentials.ok()) return credentials.status();
  absl::StatusOr<triage::TriagePolicy> policy = LoadPolicy(options);
  if (!policy.ok()) return policy.status();
  if (options.after_files_read) options.after_files_read();
  absl::StatusOr<triage::RetentionOptions> retention = RetentionFrom(options);
  if (!retention.ok()) return retention.status();
  if (absl::Status opened = s->OpenStore(clock); !opened.ok()) return opened;
  if (absl::Status backups = s->OpenBackups(); !backups.ok()) return backups;
  s->LogAuditTrailAtStart();
  s->BuildServices(clock, *std::move(credentials), *std::move(policy), *std::move(retention));
  if (options.before_listening) options.before_listening(*s);
  if (absl::Status metrics = s->ServeMetrics(clock); !metrics.ok()) return metrics;
  if (absl::Status listening = s->Listen(*transport); !listening.ok()) return listening;
  storage::ReportStore* store = s->store_.get();
  s->anchors_ = std::make_unique<AuditAnchorPublisher>(
      [store] { return store->committed_audit_anchor(); }, options.audit_anchor_file,
      options.audit_anchor_interval);
  s->anchors_->Publish("at start");
  s->anchors_->Start();
  return s;
}

absl::Status TriageServer::OpenStore(const common::Clock* clock) {
  storage::StoreOptions store_options;
  store_options.path = options_.data_dir;
  store_options.key_file = options_.key_file;
  store_options.audit_key_file = options_.audit_key_file;
  store_options.migrate_audit_trail = options_.migrate_audit_trail;
  absl::StatusOr<std::optional<storage::AuditAnchorPoint>> anchor = AnchorToCheck(options_);
  if (!anchor.ok()) return anchor.status();
  store_options.audit_anchor = *anchor;
  store_options.commit = options_.commit;
  store_options.commit.now = [clock] { return clock->Now(); };
  store_options.env = options_.storage_env;
  store_options.memory = options_.memory;
  store_options.backup_dir = options_.backup_dir;
  store_options.commit.on_batch_synced = [metrics = metrics_.get()](size_t changes,
                                                                    absl::Duration sync) {
    metrics->BatchSynced(changes, sync);
  };
  store_options.commit.on_dropped = [metrics = metrics_.get()](size_t changes) {
    metrics->ChangesDropped(changes);
  };
  store_options.commit.on_writable_change = [this](bool writable, const std::string& why) {
    store_writable_ = writable;
    if (writable) {
      Log(Severity::kInfo, "storage writes work again; health SERVING");
    } else {
      Log(Severity::kError,
          "storage cannot write (%s); health NOT_SERVING (reads need the audit trail and fail "
          "too); probing every second: it heals by itself once a full disk has room again, and "
          "after an I/O error from a failing device the store is reopened once the device "
          "takes writes again",
          why);
    }
    UpdateHealth();
  };
  absl::StatusOr<std::unique_ptr<storage::ReportStore>> store =
      storage::ReportStore::Open(store_options);
  if (!store.ok() && store_options.audit_anchor &&
      absl::StartsWith(store.status().message(), "audit anchor ")) {
    return absl::FailedPreconditionError(absl::StrCat("refusing to start: audit anchor file ",
                                                      options_.audit_anchor_file, ": ",
                                                      store.status().message()));
  }
  if (!store.ok()) return store.status();
  store_ = *std::move(store);
  return absl::OkStatus();
}

absl::Status TriageServer::OpenBackups() {
  absl::StatusOr<std::unique_ptr<triage::Backups>> backups = triage::Backups::Open(
      store_.get(),
      triage::BackupOptions{.dir = options_.backup_dir, .keep = options_.backups_to_keep});
  if (!backups.ok()) return backups.status();
  backups_ = *std::move(backups);
  if (!options_.backup_dir.empty()) {
    Log(Severity::kInfo, "backups in %s (keeping the last %d)", options_.backup_dir,
        static_cast<int>(options_.backups_to_keep));
  }
  return absl::OkStatus();
}

void TriageServer::BuildServices(const common::Clock* clock, CredentialStore credentials,
                                 triage::TriagePolicy policy, triage::RetentionOptions retention) {
  Log(Severity::kInfo, "triage policy %s from %s", policy.version(),
      options_.policy_file.empty() ? "the shipped file (built in)" : options_.policy_file);
  policy_ = std::make_unique<triage::PolicyHolder>(std::move(policy));
  intake_ = std::make_unique<triage::Intake>(
      store_.get(), policy_.get(), clock,
      [metrics = metrics_.get()](v1::ReporterType type, v1::Priority priority) {
        metrics->ReportReceived(type, priority);
      });
  desk_ = std::make_unique<triage::Desk>(
      store_.get(), policy_.get(), clock,
      triage::DeskOptions{.default_lease = options_.claim_lease,
                          .max_lease = options_.max_claim_lease,
                          .report_problem = [](const std::string& what) {
                            Log(Severity::kError, "triage desk: %s", what);
                          }});
  // Damage found at open or by any later verification keeps the gauge at 0 until a restart
  // (which checks again).
  audit_intact_ = store_->audit_opening().problem.empty();
  administration_ = std::make_unique<triage::Administration>(store_.get(), [this](bool intact) {
    if (!intact) audit_intact_ = false;
  });
  limiter_ = std::make_unique<RateLimiter>(clock, options_.rate_limit_per_second,
                                           options_.rate_limit_burst);
  guard_ = std::make_unique<AccessGuard>(
      &store_->audit(), std::make_shared<const CredentialStore>(std::move(credentials)),
      limiter_.get(), clock);
  guard_->SetRpcObserver(metrics_.get());
  call_budgets_ = std::make_unique<CallBudgets>(
      options_.call_budgets, [this] { return store_->engine().committer().backlog(); });
  guard_->SetCallBudgets(call_budgets_.get());
  statistics_pool_ = std::make_unique<WorkerPool>("triage-stats", options_.statistics_threads,
                                                  options_.worker_nice);
  bulk_pool_ = std::make_unique<WorkerPool>("triage-bulk", 1, options_.worker_nice);
  intake_service_ = std::make_unique<IntakeService>(guard_.get(), intake_.get());
  watches_ = std::make_unique<QueueWatches>(desk_.get());
  desk_service_ = std::make_unique<TriageDeskService>(guard_.get(), desk_.get(), watches_.get(),
                                                      metrics_.get());
  statistics_ = std::make_unique<triage::Statistics>(store_.get(), policy_.get(), clock);
  statistics_service_ =
      std::make_unique<StatisticsService>(guard_.get(), statistics_.get(), statistics_pool_.get());
  importer_ = std::make_unique<triage::Importer>(store_.get(), policy_.get(), clock);
  recount_ = std::make_unique<triage::Recount>(store_.get(), policy_.get());
  if (retention.periods.empty()) {
    Log(Severity::kInfo, "retention: none (--retention): closed reports are kept for ever");
  } else {
    Log(Severity::kInfo, "retention: %s%s", triage::DescribeRetention(retention.periods),
        retention.daily_at ? absl::StrCat("; purged daily at ", options_.purge_daily_at, " UTC")
                           : std::string("; no daily purge (--purge_daily_at)"));
  }
  retention_ = std::make_unique<triage::Retention>(store_.get(), clock, std::move(retention));
  administration_service_ = std::make_unique<AdministrationService>(
      guard_.get(), administration_.get(), importer_.get(), recount_.get(), backups_.get(),
      retention_.get(), bulk_pool_.get());
}

absl::Status TriageServer::ServeMetrics(const common::Clock* clock) {
  metrics_->SetSources(
      MetricSources{.queues = &store_->queue(),
                    .policy = policy_.get(),
                    .clock = clock,
                    .store_writable = [this] { return store_writable_.load(); },
                    .audit_trail_intact = [this] { return audit_intact_.load(); },
                    .last_backup_time = options_.backup_dir.empty()
                                            ? std::function<std::optional<absl::Time>()>()
                                            : [this] { return backups_->NewestBackupTime(); },
                    .reports_purged = [this] { return retention_->purged_count(); },
                    .purge_failures = [this] { return retention_->failed_runs(); },
                    .call_budgets = call_budgets_.get(),
                    .write_backlog = [this] { return store_->engine().committer().backlog(); },
                    .refusals_unaudited = [this] { return guard_->refusals_unaudited(); }});
  return metrics_->Serve(options_.metrics_listen);
}

absl::Status TriageServer::Listen(std::shared_ptr<grpc::ServerCredentials> transport) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  ConfigureTransport(options_, builder);
  builder.AddListeningPort(options_.listen, std::move(transport), &port_);
  builder.RegisterService(intake_service_.get());
  builder.RegisterService(desk_service_.get());
  builder.RegisterService(statistics_service_.get());
  builder.RegisterService(administration_service_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options_.listen, " (address in use or invalid)"));
  }
  {
    absl::MutexLock lock(&health_mu_);
    serving_ = true;
  }
  UpdateHealth();
  return absl::OkStatus();
}

void TriageServer::LogAuditTrailAtStart() {
  if (store_->audit_opening().migrated) {
    Log(Severity::kInfo,
        "audit trail migrated: keyed from now on by the audit key file %s instead of the "
        "oldest data key (recorded in the trail)",
        options_.audit_key_file);
  }
  if (!store_->audit_opening().problem.empty()) {
    Log(Severity::kError,
        "AUDIT TRAIL DAMAGED: %s. Recorded in the trail; `triagectl admin verify-audit` "
        "reports it. Treat as a security incident.",
        store_->audit_opening().problem);
  }
  if (store_->keys().resumed()) {
    Log(Severity::kInfo,
        "resuming the re-encryption of a key rotation that was stopped before it finished");
  }
  if (const auto& restore = store_->audit_opening().restore_recorded) {
    const bool compared = restore->backup_check() == v1::BACKUP_CHECK_MATCHES;
    Log(compared ? Severity::kInfo : Severity::kWarning,
        "recorded in the audit trail: this directory was restored from backup %s (audit head "
        "#%d) by %s; %s; `triagectl audit --principal triage-server` shows the entry",
        restore->backup_id(), static_cast<int64_t>(restore->backup_audit_sequence()),
        restore->restored_by(),
        compared ? "it matches that backup in --backup_dir"
                 : "not compared with the backup (no --backup_dir, or the backup is not in it)");
  }
  if (!store_->audit_opening().restore_not_recorded.empty()) {
    Log(Severity::kError, "%s: keep it with the incident record",
        store_->audit_opening().restore_not_recorded);
  }
  if (const auto& anchor = store_->audit_opening().anchor_checked) {
    Log(Severity::kInfo, "audit trail is on the anchor %s of %s", anchor->ToString(),
        options_.audit_anchor_file);
  }
}

TriageServer::~TriageServer() {
  metrics_->StopServing();  // scrapes read the queue index, the policy and the store's state
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(5));
    server_->Wait();
    absl::MutexLock lock(&health_mu_);
    serving_ = false;
    server_.reset();
  }
  // The domain's background work that writes audit entries ends before the stop anchor.
  backups_.reset();
  retention_.reset();
  if (anchors_ != nullptr) {
    // Every call has finished, so no audit entry is still on its way.
    anchors_->Publish("at stop");
    anchors_.reset();
  }
  // Every call has finished, so the workers are idle.
  statistics_pool_.reset();
  bulk_pool_.reset();
  // The lease keeper stops before the store it uses.
  desk_service_.reset();
  watches_.reset();
  desk_.reset();
  store_.reset();  // commits what is pending, closes RocksDB, releases the lock
}

std::string TriageServer::address() const {
  std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  return absl::StrCat(host, ":", port_);
}

absl::Status TriageServer::ReloadCredentials() {
  absl::StatusOr<CredentialStore> credentials =
      CredentialStore::LoadFile(options_.credentials_file);
  if (!credentials.ok()) return credentials.status();
  guard_->SetCredentials(std::make_shared<const CredentialStore>(*std::move(credentials)));
  return absl::OkStatus();
}

absl::Status TriageServer::ReloadPolicy() {
  if (options_.policy_file.empty()) {
    return absl::FailedPreconditionError(
        "no --policy file to reload (the shipped policy is built in)");
  }
  absl::StatusOr<triage::TriagePolicy> policy =
      triage::TriagePolicy::LoadFile(options_.policy_file);
  if (!policy.ok()) return policy.status();
  policy_->Set(*std::move(policy));
  return absl::OkStatus();
}

void TriageServer::Shutdown(absl::Duration grace) {
  std::call_once(shutdown_once_, [&] {
    shutting_down_ = true;
    UpdateHealth();
    if (watches_ != nullptr) watches_->FinishAll();  // watchers never hold up the drain
    if (backups_ != nullptr) backups_->Stop();       // nor does a backup: it ends CANCELLED
    if (retention_ != nullptr) retention_->Stop();   // a purge stops after its chunk
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  });
}

void TriageServer::Wait() { server_->Wait(); }

void TriageServer::UpdateHealth() {
  absl::MutexLock lock(&health_mu_);  // the committer thread may call while we stop
  if (!serving_) return;
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  const bool serving = store_writable_ && !shutting_down_;
  // Each service by name as well as the whole server ("" ), so that a probe may name one;
  // they share the store, so they serve or not together.
  for (const char* name :
       {"", v1::ReportIntake::service_full_name(), v1::TriageDesk::service_full_name(),
        v1::Statistics::service_full_name(), v1::Administration::service_full_name()}) {
    health->SetServingStatus(name, serving);
  }
}

}  // namespace safeguarding::services
