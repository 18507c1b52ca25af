// SupervisedServer: a TriageServer that comes back by itself after a storage fault that only
// reopening the store clears.
//
// RocksDB 7.8 holds an I/O error on a write-ahead-log append or sync (a failing device, a
// lost network volume) as fatal: the database refuses every write until it is reopened, and
// DB::Resume will not clear it. Once the disk takes a synced write again, the committer says
// so (CommitterOptions::on_reopen_needed); the supervisor then drains the server (calls in
// flight get `reopen_grace`; backups and WatchQueues streams in progress end), closes the
// store and starts the server again in this process, on the same address and metrics port.
// The new server reads every file again (TLS, credentials, policy, keys, the audit anchor),
// and RocksDB replays its log, so every acknowledged write is there; what the server keeps
// in memory (the queue index, the audit chain's head, the counters) is rebuilt from the
// store as at any start. While it reopens the port refuses connections and clients retry.
//
// A start that fails UNAVAILABLE (the disk failed again, the port not free yet) is retried
// after 1 s, then 2 s, doubling up to a minute. Any other failure (a file that is no longer
// valid, an audit anchor the store is behind, a store that is locked or damaged) ends the
// supervisor: Wait() returns the error, and main() exits non-zero so the service manager
// restarts it, visibly. At most kMaxReopensPerHour reopens in an hour: past that the device
// keeps failing, and the server stays NOT_SERVING for an operator.
//
// A full disk is not handled here: RocksDB resumes from it in place (committer.h).
//
// Used by main(); the integration tests start one on a store whose disk they fail.
// Thread-safe.
#ifndef SAFEGUARDING_SERVICES_SUPERVISED_SERVER_H_
#define SAFEGUARDING_SERVICES_SUPERVISED_SERVER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/server.h"

namespace safeguarding::services {

class SupervisedServer {
 public:
  static constexpr int kMaxReopensPerHour = 5;

  // As TriageServer::Start: the first start's errors are returned, never retried.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<SupervisedServer>> Start(
      const ServerOptions& options, absl::Duration reopen_grace = absl::Seconds(5));

  // Shutdown(5 s) unless Shutdown was called, then Wait().
  ~SupervisedServer();
  SupervisedServer(const SupervisedServer&) = delete;
  SupervisedServer& operator=(const SupervisedServer&) = delete;

  // Of the first start; every reopen listens there again.
  std::string address() const { return address_; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }

  // Of the server running now. While the store is being reopened: UNAVAILABLE, and the
  // file is read again by the server that comes up once it is up (a revoked token is never
  // left in force by a SIGHUP that came during a reopen).
  [[nodiscard]] absl::Status ReloadCredentials();
  [[nodiscard]] absl::Status ReloadPolicy();
  // The version of the policy in force; empty while the store is being reopened.
  std::string policy_version() const;
  // False while the store cannot write, and while it is being reopened.
  bool store_writable() const;
  // How many times the store has been reopened since Start.
  int reopens() const;

  // Asks the supervisor's thread to stop accepting calls (in-flight calls get until
  // `grace` to finish) and close the store; returns at once (Wait waits). Later calls do
  // nothing.
  void Shutdown(absl::Duration grace);
  // Blocks until the store is closed: after Shutdown (OK), or when a reopen failed in a way
  // that retrying cannot mend (that error).
  [[nodiscard]] absl::Status Wait();

 private:
  SupervisedServer(const ServerOptions& options, absl::Duration reopen_grace)
      : options_(options), reopen_grace_(reopen_grace) {}

  // The options of generation `generation`: the committer's reopen request names it, so a
  // request from a server already replaced (or from a start that failed) is ignored.
  ServerOptions OptionsFor(int generation);
  // The supervisor's thread: waits for a reopen request or Shutdown.
  void Run();
  // Drains and closes `old`, then starts servers until one starts, Shutdown is asked, or a
  // start fails in a way retrying cannot mend (returned).
  [[nodiscard]] absl::Status Reopen(std::unique_ptr<TriageServer> old, const std::string& why);
  // Whether another reopen is allowed now (kMaxReopensPerHour); notes it if so.
  bool MayReopen() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reads the credentials and policy files again into `server` if a SIGHUP came while
  // there was no server to take it (ReloadCredentials noted it), and logs the outcome.
  void ApplyPendingReload(TriageServer& server) ABSL_LOCKS_EXCLUDED(mu_);

  ServerOptions options_;  // with the listen and metrics addresses of the first start
  const absl::Duration reopen_grace_;
  std::string address_;
  int port_ = 0;
  int metrics_port_ = 0;

  // Held (shared) while a call is forwarded to the server; never while a server starts,
  // drains or closes, so the supervisor's thread alone owns and destroys servers.
  mutable absl::Mutex mu_;
  std::unique_ptr<TriageServer> server_ ABSL_GUARDED_BY(mu_);  // null while reopening
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool reopen_wanted_ ABSL_GUARDED_BY(mu_) = false;
  std::string reopen_why_ ABSL_GUARDED_BY(mu_);
  bool reload_pending_ ABSL_GUARDED_BY(mu_) = false;
  int reopens_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<absl::Time> recent_reopens_ ABSL_GUARDED_BY(mu_);  // within the last hour
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration stop_grace_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status ended_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_SUPERVISED_SERVER_H_
