// SupervisedServer: a TriageServer that comes back by itself after a storage fault that only
// reopening the store clears.
//
// RocksDB 7.8 holds an I/O error on a write-ahead-log append or sync (a failing device, a
// lost network volume) as fatal: the database refuses every write until it is reopened, and
// DB::Resume will not clear it. Once the disk takes a synced write again, the committer says
// so (CommitterOptions::on_reopen_needed); the supervisor then drains the server (calls in
// flight get `reopen_grace`), closes the store and starts the server again in this process,
// on the same address and metrics port. RocksDB replays its log, so every acknowledged write
// is there, and what the server keeps in memory (the queue index, the audit chain's head,
// the counters) is rebuilt from the store as at any start. While it reopens (the start-up
// time) the port refuses connections and clients retry. A start that fails (the disk failed
// again) is retried after 1 s, then 2 s, doubling up to a minute, until Shutdown.
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

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "services/server.h"

namespace safeguarding::services {

class SupervisedServer {
 public:
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

  // Of the server running now. While the store is being reopened: UNAVAILABLE (the server
  // that comes up reads the files at its start anyway).
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
  // Blocks until Shutdown was called and the store is closed.
  void Wait();

 private:
  SupervisedServer(const ServerOptions& options, absl::Duration reopen_grace)
      : options_(options), reopen_grace_(reopen_grace) {}

  // The options of generation `generation`: the committer's reopen request names it, so a
  // request from a server already being replaced is ignored.
  ServerOptions OptionsFor(int generation);
  // The supervisor's thread: waits for a reopen request or Shutdown.
  void Run();
  // Drains and closes `old`, then starts servers until one starts or Shutdown is asked.
  void Reopen(std::shared_ptr<TriageServer> old, const std::string& why);
  std::shared_ptr<TriageServer> Current() const;

  ServerOptions options_;  // with the listen and metrics addresses of the first start
  const absl::Duration reopen_grace_;
  std::string address_;
  int port_ = 0;
  int metrics_port_ = 0;

  mutable absl::Mutex mu_;  // never held while a server starts, drains or closes
  std::shared_ptr<TriageServer> server_ ABSL_GUARDED_BY(mu_);  // null while reopening
  int generation_ ABSL_GUARDED_BY(mu_) = 0;
  bool reopen_wanted_ ABSL_GUARDED_BY(mu_) = false;
  std::string reopen_why_ ABSL_GUARDED_BY(mu_);
  int reopens_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration stop_grace_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_SUPERVISED_SERVER_H_
