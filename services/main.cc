// triage-server: the safeguarding report triage service.
//
// Starts the gRPC server on --listen with the embedded RocksDB under --data_dir. TLS
// (--tls_cert/--tls_key, mutual TLS with --tls_client_ca) unless --insecure. SIGHUP
// re-reads --credentials_file. SIGTERM and SIGINT stop accepting calls, let in-flight calls
// finish (up to --shutdown_grace), commit what is pending and close the database; the exit
// code is then 0.
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/flags_usage.h"
#include "services/log.h"
#include "services/server.h"
#include "services/supervised_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "host:port to serve gRPC on; port 0 picks a free port");
ABSL_FLAG(std::string, metrics_listen, "127.0.0.1:9464",
          "host:port to serve Prometheus metrics on (/metrics, no authentication: keep it on "
          "loopback or behind a network policy); empty: no metrics endpoint");
ABSL_FLAG(std::string, data_dir, "./var/db",
          "directory of the embedded RocksDB database (created on first start)");
ABSL_FLAG(std::string, key_file, "./var/key",
          "encryption keys (32 random bytes each, mode 0600; the last is current); "
          "create one with: (umask 077; head -c 32 /dev/urandom > FILE)");
ABSL_FLAG(std::string, audit_key_file, "./var/audit-key",
          "keys of the audit chain and request fingerprints, apart from --key_file (same "
          "format; the last is current); create one with: (umask 077; head -c 32 "
          "/dev/urandom > FILE)");
ABSL_FLAG(std::string, audit_anchor_file, "",
          "file outside the data directory holding the last audit anchor published: checked "
          "at start (a data directory behind it is refused) and rewritten at each publication");
ABSL_FLAG(absl::Duration, audit_anchor_interval, absl::Minutes(1),
          "how often the audit anchor (sequence:hash of the chain head) is logged while "
          "entries are added (taken between 100ms and 1m)");
ABSL_FLAG(bool, migrate_audit_trail, false,
          "first start of a data directory written before audit keys existed: migrate its "
          "audit trail to --audit_key_file (refused on any other directory)");
ABSL_FLAG(std::string, credentials_file, "./var/credentials",
          "principals, roles and SHA-256 token hashes (triagectl admin add-token); "
          "re-read on SIGHUP");
ABSL_FLAG(std::string, policy, "",
          "triage policy file (protobuf text format, see deploy/config/policy.textproto); "
          "empty: the shipped policy, built in; re-read on SIGHUP");
ABSL_FLAG(int64_t, min_free_disk_mb, 1024,
          "writes are refused (UNAVAILABLE, health NOT_SERVING) while the data directory's "
          "file system has less than this free, so the disk never fills under the database; "
          "they resume by themselves once there is room again; 0: no check");
ABSL_FLAG(std::string, retention, "",
          "Retention periods per outcome, after which a closed report's description, contact "
          "details and notes are purged (a tombstone and the statistics stay): "
          "OUTCOME=PERIOD,... e.g. no_further_action=400d,duplicate=90d; outcomes not named, "
          "and open reports, are kept for ever. Empty: no purge.");
ABSL_FLAG(std::string, purge_daily_at, "02:30",
          "Time of day (HH:MM, UTC) of the daily retention purge; empty: none (the "
          "PurgeExpiredReports RPC still purges on demand). Unused without --retention.");
ABSL_FLAG(std::string, backup_dir, "",
          "directory for CreateBackup's backups (RocksDB BackupEngine: incremental, "
          "checksummed), outside the data directory, ideally on another volume; empty: no "
          "backups");
ABSL_FLAG(uint32_t, backups_to_keep, 7,
          "after each backup, delete the oldest beyond this many (at least 1)");
ABSL_FLAG(absl::Duration, claim_lease, absl::Minutes(15),
          "how long a claim lasts unless renewed, when ClaimNextReport asks for no lease "
          "(30s to --max_claim_lease; the server refuses to start otherwise)");
ABSL_FLAG(absl::Duration, max_claim_lease, absl::Hours(1),
          "the longest lease a claim may ask for (longer requests get this; at least 30s; "
          "shorter requests get 30s)");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain to serve TLS with");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: require and verify client certificates (mutual TLS)");
ABSL_FLAG(bool, insecure, false, "serve plaintext instead of TLS (loopback addresses only)");
ABSL_FLAG(bool, insecure_allow_remote, false,
          "with --insecure, also allow plaintext on non-loopback addresses (never in production)");
ABSL_FLAG(int32_t, max_concurrent_streams, 100, "concurrent calls per client connection");
ABSL_FLAG(int64_t, max_calls_in_flight, 4096,
          "intake calls (SubmitReport, ...) worked on at once; beyond, RESOURCE_EXHAUSTED at "
          "once (0: no limit)");
ABSL_FLAG(int64_t, max_desk_calls_in_flight, 1024,
          "triage desk calls worked on at once, apart from intake's; beyond, "
          "RESOURCE_EXHAUSTED (0: no limit)");
ABSL_FLAG(int64_t, max_statistics_in_flight, 16,
          "statistics queries worked on or waiting for a statistics worker at once; beyond, "
          "RESOURCE_EXHAUSTED (0: no limit)");
ABSL_FLAG(int64_t, max_admin_reads_in_flight, 16,
          "short administration reads (GetAuditLog, ListBackups, ListEncryptionKeys) at once; "
          "beyond, RESOURCE_EXHAUSTED (0: no limit)");
ABSL_FLAG(int64_t, max_imports_in_flight, 8,
          "ImportReports calls at once (one principal at most half: triagectl import sends 4); "
          "beyond, RESOURCE_EXHAUSTED "
          "(0: no limit)");
ABSL_FLAG(int64_t, max_admin_calls_in_flight, 4,
          "other administration calls (backups, verifications, recounts, purges, key "
          "rotations; all admin-only) at once; beyond, RESOURCE_EXHAUSTED (0: no limit)");
ABSL_FLAG(absl::Duration, max_write_backlog, absl::Milliseconds(100),
          "refuse intake and desk calls (RESOURCE_EXHAUSTED) while changes queued for the "
          "disk have waited longer than this (0: never)");
ABSL_FLAG(int32_t, statistics_threads, 2,
          "threads answering statistics queries, at a lower CPU priority than intake");
ABSL_FLAG(double, rate_limit_per_second, 200,
          "calls per second per principal (token bucket); 0 disables");
ABSL_FLAG(double, rate_limit_burst, 2000, "token bucket size per principal");
ABSL_FLAG(int32_t, max_receive_message_bytes, 1 << 20, "largest request accepted, in bytes");
ABSL_FLAG(int64_t, block_cache_mb, 256,
          "RocksDB's block cache (data, index and filter blocks of every family), in MB; at "
          "least 8");
ABSL_FLAG(int64_t, memtable_mb, 256,
          "RocksDB's memtables of all families together, in MB (one family's at most 64); at "
          "least 8");
ABSL_FLAG(int32_t, max_commit_batch, 1024,
          "most changes made durable by one fsync (group commit); 1 = one fsync per change");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(10),
          "on SIGTERM/SIGINT, how long in-flight calls may take to finish");

namespace {

using safeguarding::services::Log;
using safeguarding::services::ServerOptions;
using safeguarding::services::Severity;
using safeguarding::services::SupervisedServer;

void ParseFlags(int argc, char** argv) {
  safeguarding::common::SetFlagsUsage(
      "Safeguarding report triage service.\n"
      "Usage: triage-server [--listen=127.0.0.1:50051] [--data_dir=./var/db] ...",
      "services/main.cc");
  absl::ParseCommandLine(argc, argv);
}

ServerOptions OptionsFromFlags() {
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.metrics_listen = absl::GetFlag(FLAGS_metrics_listen);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.key_file = absl::GetFlag(FLAGS_key_file);
  options.audit_key_file = absl::GetFlag(FLAGS_audit_key_file);
  options.audit_anchor_file = absl::GetFlag(FLAGS_audit_anchor_file);
  options.migrate_audit_trail = absl::GetFlag(FLAGS_migrate_audit_trail);
  options.audit_anchor_interval = std::clamp(absl::GetFlag(FLAGS_audit_anchor_interval),
                                             absl::Milliseconds(100), absl::Minutes(1));
  options.credentials_file = absl::GetFlag(FLAGS_credentials_file);
  options.policy_file = absl::GetFlag(FLAGS_policy);
  options.backup_dir = absl::GetFlag(FLAGS_backup_dir);
  options.retention = absl::GetFlag(FLAGS_retention);
  options.purge_daily_at = absl::GetFlag(FLAGS_purge_daily_at);
  options.backups_to_keep = absl::GetFlag(FLAGS_backups_to_keep);
  options.claim_lease = absl::GetFlag(FLAGS_claim_lease);
  options.max_claim_lease = absl::GetFlag(FLAGS_max_claim_lease);
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.insecure_allow_remote = absl::GetFlag(FLAGS_insecure_allow_remote);
  options.max_concurrent_streams = absl::GetFlag(FLAGS_max_concurrent_streams);
  options.call_budgets = {.intake = absl::GetFlag(FLAGS_max_calls_in_flight),
                          .desk = absl::GetFlag(FLAGS_max_desk_calls_in_flight),
                          .statistics = absl::GetFlag(FLAGS_max_statistics_in_flight),
                          .admin_reads = absl::GetFlag(FLAGS_max_admin_reads_in_flight),
                          .imports = absl::GetFlag(FLAGS_max_imports_in_flight),
                          .bulk = absl::GetFlag(FLAGS_max_admin_calls_in_flight),
                          .max_write_backlog = absl::GetFlag(FLAGS_max_write_backlog)};
  options.statistics_threads = std::clamp(absl::GetFlag(FLAGS_statistics_threads), 1, 64);
  options.rate_limit_per_second = absl::GetFlag(FLAGS_rate_limit_per_second);
  options.rate_limit_burst = absl::GetFlag(FLAGS_rate_limit_burst);
  options.max_receive_message_bytes = absl::GetFlag(FLAGS_max_receive_message_bytes);
  options.memory.block_cache_bytes =
      static_cast<size_t>(std::clamp<int64_t>(absl::GetFlag(FLAGS_block_cache_mb), 0, 1 << 30))
      << 20;
  options.memory.memtable_bytes =
      static_cast<size_t>(std::clamp<int64_t>(absl::GetFlag(FLAGS_memtable_mb), 0, 1 << 30)) << 20;
  options.commit.max_batch =
      static_cast<size_t>(std::max(1, absl::GetFlag(FLAGS_max_commit_batch)));
  options.commit.min_free_bytes =
      static_cast<uint64_t>(std::clamp<int64_t>(absl::GetFlag(FLAGS_min_free_disk_mb), 0, 1 << 30))
      << 20;
#ifdef TRIAGE_CRASH_NEGATIVE_CONTROL
  // Only in tests/crash's triage-server-negative-control, never in triage-server.
  options.commit.negative_control_skip_wal = true;
  Log(Severity::kError, "NEGATIVE CONTROL BUILD: acknowledging writes before they are durable");
#endif
  return options;
}

// Handles `signals` until SIGTERM or SIGINT: SIGHUP reloads the credentials and the
// policy file; the stop signal drains the server within `grace`.
// Returns quietly, without draining, once `ended` is set (main then wakes this thread).
void HandleSignals(const sigset_t& signals, SupervisedServer& server, const ServerOptions& options,
                   absl::Duration grace, const std::atomic<bool>& ended) {
  int signal = 0;
  for (;;) {
    sigwait(&signals, &signal);
    if (ended.load()) return;
    if (signal != SIGHUP) break;
    absl::Status reloaded = server.ReloadCredentials();
    if (reloaded.ok()) {
      Log(Severity::kInfo, "SIGHUP: credentials reloaded from %s", options.credentials_file);
    } else {
      Log(Severity::kError, "SIGHUP: keeping the old credentials: %s", reloaded.message());
    }
    if (!options.policy_file.empty()) {
      absl::Status policy = server.ReloadPolicy();
      if (policy.ok()) {
        Log(Severity::kInfo, "SIGHUP: triage policy %s loaded from %s", server.policy_version(),
            options.policy_file);
      } else {
        Log(Severity::kError, "SIGHUP: keeping triage policy %s: %s", server.policy_version(),
            absl::StrReplaceAll(policy.message(), {{"\n", " "}}));
      }
    }
  }
  Log(Severity::kInfo, "received %s; draining in-flight calls (up to %s)",
      signal == SIGTERM ? "SIGTERM" : "SIGINT", absl::FormatDuration(grace));
  server.Shutdown(grace);
}

// SIGTERM, SIGINT and SIGHUP are handled on one thread with sigwait (HandleSignals): blocks
// them here, so that every thread started from now on inherits the mask.
sigset_t BlockSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything the server creates (RocksDB's files, backups, the anchor file) is the
  // service user's alone: copies made with `cp -a`, `rsync -a` or tar keep the modes.
  ::umask(077);
  ParseFlags(argc, argv);
  // Debian builds Abseil without NDEBUG, so every Mutex lock would feed the lock-order graph
  // of its deadlock detector (about 2% of a desk change's instructions). The tests keep the
  // detector on, where a lock-order inversion is caught before it ships.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  const sigset_t signals = BlockSignals();

  // The memory flags as typed (the options hold bytes, which a negative or huge value has
  // no faithful form in); TriageServer::Start checks the bytes again for other callers.
  for (const auto& [name, mb] : {std::pair{"--block_cache_mb", absl::GetFlag(FLAGS_block_cache_mb)},
                                 std::pair{"--memtable_mb", absl::GetFlag(FLAGS_memtable_mb)}}) {
    if (mb < 8 || mb > (int64_t{1} << 20)) {
      std::fprintf(stderr, "triage-server: %s %lld: must be at least 8 and at most 1048576 (MB)\n",
                   name, static_cast<long long>(mb));
      return 1;
    }
  }
  const ServerOptions options = OptionsFromFlags();
  // Supervised: a store that only a reopen can heal (an I/O error on its log) is reopened
  // in this process once the disk works again (supervised_server.h).
  auto server = SupervisedServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "triage-server: %s\n", std::string(server.status().message()).c_str());
    return 1;
  }
  Log(Severity::kInfo, "listening on %s (%s), data in %s, group commit up to %d",
      (*server)->address(),
      options.insecure ? "plaintext" : (options.tls.client_ca_file.empty() ? "TLS" : "mutual TLS"),
      options.data_dir, static_cast<int>(options.commit.max_batch));
  if ((*server)->metrics_port() != 0) {
    const std::string& metrics = options.metrics_listen;
    Log(Severity::kInfo, "metrics on http://%s:%d/metrics", metrics.substr(0, metrics.rfind(':')),
        (*server)->metrics_port());
  }

  std::atomic<bool> ended{false};
  std::thread signal_thread(HandleSignals, std::cref(signals), std::ref(**server),
                            std::cref(options), absl::GetFlag(FLAGS_shutdown_grace),
                            std::cref(ended));
  // Until the drain is over, pending changes committed and the store closed: after a stop
  // signal, or when a reopen of the store failed in a way retrying cannot mend.
  absl::Status stopped = (*server)->Wait();
  ended = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // if it still waits, it leaves
  signal_thread.join();
  server->reset();
  if (!stopped.ok()) {
    Log(Severity::kError, "stopped: %s", stopped.message());
    return 1;
  }
  Log(Severity::kInfo, "stopped cleanly");
  return 0;
}
