#include "services/supervised_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/log.h"

namespace safeguarding::services {
namespace {

// `host:port` with the port replaced (an IPv6 host keeps its brackets).
std::string WithPort(const std::string& address, int port) {
  return absl::StrCat(address.substr(0, address.rfind(':')), ":", port);
}

constexpr absl::Duration kFirstRetry = absl::Seconds(1);
constexpr absl::Duration kLongestRetry = absl::Minutes(1);

}  // namespace

absl::StatusOr<std::unique_ptr<SupervisedServer>> SupervisedServer::Start(
    const ServerOptions& options, absl::Duration reopen_grace) {
  std::unique_ptr<SupervisedServer> s(new SupervisedServer(options, reopen_grace));
  absl::StatusOr<std::unique_ptr<TriageServer>> first = TriageServer::Start(s->OptionsFor(0));
  if (!first.ok()) return first.status();
  s->address_ = (*first)->address();
  s->port_ = (*first)->port();
  s->metrics_port_ = (*first)->metrics_port();
  // A reopen listens where the first start did, also when it asked for any free port.
  s->options_.listen = WithPort(options.listen, s->port_);
  if (!options.metrics_listen.empty()) {
    s->options_.metrics_listen = WithPort(options.metrics_listen, s->metrics_port_);
  }
  {
    absl::MutexLock lock(&s->mu_);
    s->server_ = *std::move(first);
  }
  s->thread_ = std::thread([raw = s.get()] { raw->Run(); });
  return s;
}

SupervisedServer::~SupervisedServer() {
  if (!thread_.joinable()) return;  // the first start failed: nothing runs
  Shutdown(absl::Seconds(5));
  Wait();
  thread_.join();
}

ServerOptions SupervisedServer::OptionsFor(int generation) {
  ServerOptions options = options_;
  // Runs on the committer thread of that generation's store: only notes the request.
  options.commit.on_reopen_needed = [this, generation](const std::string& why) {
    absl::MutexLock lock(&mu_);
    if (generation != generation_ || stopping_) return;
    reopen_wanted_ = true;
    reopen_why_ = why;
  };
  return options;
}

std::shared_ptr<TriageServer> SupervisedServer::Current() const {
  absl::MutexLock lock(&mu_);
  return server_;
}

absl::Status SupervisedServer::ReloadCredentials() {
  std::shared_ptr<TriageServer> server = Current();
  if (server == nullptr) {
    return absl::UnavailableError("the store is being reopened; the new server reads the file");
  }
  return server->ReloadCredentials();
}

absl::Status SupervisedServer::ReloadPolicy() {
  std::shared_ptr<TriageServer> server = Current();
  if (server == nullptr) {
    return absl::UnavailableError("the store is being reopened; the new server reads the file");
  }
  return server->ReloadPolicy();
}

std::string SupervisedServer::policy_version() const {
  std::shared_ptr<TriageServer> server = Current();
  return server == nullptr ? std::string() : server->policy_version();
}

bool SupervisedServer::store_writable() const {
  std::shared_ptr<TriageServer> server = Current();
  return server != nullptr && server->store_writable();
}

int SupervisedServer::reopens() const {
  absl::MutexLock lock(&mu_);
  return reopens_;
}

void SupervisedServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  stopping_ = true;
  stop_grace_ = grace;
}

void SupervisedServer::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&closed_));
}

void SupervisedServer::Run() {
  // Only this thread starts, drains and closes servers, so it holds the last reference
  // when one is closed; the lock is never held meanwhile (a drain waits for calls whose
  // commits may ask for a reopen, which takes the lock).
  for (;;) {
    std::shared_ptr<TriageServer> server;
    std::string why;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SupervisedServer* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->stopping_ || s->reopen_wanted_; },
          this));
      if (stopping_) break;
      server = std::move(server_);
      reopen_wanted_ = false;
      ++generation_;  // requests from the server being replaced are ignored from now on
      why = std::move(reopen_why_);
    }
    Reopen(std::move(server), why);
  }
  std::shared_ptr<TriageServer> last;
  absl::Duration grace;
  {
    absl::MutexLock lock(&mu_);
    last = std::move(server_);
    grace = stop_grace_;
  }
  if (last != nullptr) {
    last->Shutdown(grace);
    last->Wait();
    last.reset();  // commits what is pending and closes the database
  }
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

void SupervisedServer::Reopen(std::shared_ptr<TriageServer> old, const std::string& why) {
  Log(Severity::kWarning,
      "storage: the disk takes writes again but RocksDB holds its earlier error as fatal "
      "(%s); reopening the store in this process (calls in flight get %s)",
      why, absl::FormatDuration(reopen_grace_));
  old->Shutdown(reopen_grace_);
  old->Wait();
  old.reset();  // closes the database and releases the directory's lock
  absl::Duration pause = kFirstRetry;
  for (;;) {
    int generation = 0;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      generation = generation_;
    }
    absl::StatusOr<std::unique_ptr<TriageServer>> started =
        TriageServer::Start(OptionsFor(generation));
    absl::MutexLock lock(&mu_);
    if (started.ok()) {
      server_ = *std::move(started);
      ++reopens_;
      Log(Severity::kInfo, "storage: store reopened (%d since start); serving on %s again",
          reopens_, address_);
      return;  // a Shutdown meanwhile is seen by Run at once
    }
    Log(Severity::kError, "storage: reopening the store failed (%s); next try in %s",
        started.status().message(), absl::FormatDuration(pause));
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
    pause = std::min(pause * 2, kLongestRetry);
  }
}

}  // namespace safeguarding::services
