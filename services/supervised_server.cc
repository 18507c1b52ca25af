#include "services/supervised_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/log.h"

namespace safeguarding::services {
namespace {

// `host:port` as asked for, with the port bound when any free one (0) was asked for, so that
// a reopen listens where the first start did.
std::string AsBound(const std::string& asked, int port) {
  if (!absl::EndsWith(asked, ":0")) return asked;
  return absl::StrCat(asked.substr(0, asked.size() - 1), port);
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
  s->options_.listen = AsBound(options.listen, s->port_);
  if (!options.metrics_listen.empty()) {
    s->options_.metrics_listen = AsBound(options.metrics_listen, s->metrics_port_);
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
  (void)Wait();
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
  // A SIGHUP that came while this server was starting is applied before it serves.
  options.before_listening = [this](TriageServer& s) { ApplyPendingReload(s); };
  return options;
}

void SupervisedServer::ApplyPendingReload(TriageServer& server) {
  {
    absl::MutexLock lock(&mu_);
    if (!std::exchange(reload_pending_, false)) return;
  }
  absl::Status credentials = server.ReloadCredentials();
  absl::Status policy = options_.policy_file.empty() ? absl::OkStatus() : server.ReloadPolicy();
  Log(credentials.ok() && policy.ok() ? Severity::kInfo : Severity::kError,
      "SIGHUP during the reopen: credentials %s; policy %s",
      credentials.ok() ? std::string("reloaded") : std::string(credentials.message()),
      policy.ok() ? std::string("reloaded") : std::string(policy.message()));
}

absl::Status SupervisedServer::ReloadCredentials() {
  absl::MutexLock lock(&mu_);  // exclusive: it may note a reload for the next server
  if (server_ != nullptr) return server_->ReloadCredentials();
  reload_pending_ = true;
  return absl::UnavailableError(
      "the store is being reopened; the files are read again once it is up");
}

absl::Status SupervisedServer::ReloadPolicy() {
  absl::ReaderMutexLock lock(&mu_);
  // While reopening, ReloadCredentials (SIGHUP asks for both) noted the reload.
  if (server_ == nullptr) {
    return absl::UnavailableError(
        "the store is being reopened; the files are read again once it is up");
  }
  return server_->ReloadPolicy();
}

std::string SupervisedServer::policy_version() const {
  absl::ReaderMutexLock lock(&mu_);
  return server_ == nullptr ? std::string() : server_->policy_version();
}

bool SupervisedServer::store_writable() const {
  absl::ReaderMutexLock lock(&mu_);
  return server_ != nullptr && server_->store_writable();
}

int SupervisedServer::reopens() const {
  absl::ReaderMutexLock lock(&mu_);
  return reopens_;
}

void SupervisedServer::Shutdown(absl::Duration grace) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  stopping_ = true;
  stop_grace_ = grace;
}

absl::Status SupervisedServer::Wait() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&closed_));
  return ended_;
}

bool SupervisedServer::MayReopen() {
  const absl::Time now = absl::Now();
  std::erase_if(recent_reopens_, [now](absl::Time t) { return now - t > absl::Hours(1); });
  if (recent_reopens_.size() >= static_cast<size_t>(kMaxReopensPerHour)) return false;
  recent_reopens_.push_back(now);
  return true;
}

void SupervisedServer::Run() {
  // Only this thread starts, drains and closes servers: it takes a server out under the
  // lock (no forwarded call is then using it) and owns it alone from there.
  absl::Status ended;
  for (;;) {
    std::unique_ptr<TriageServer> old;
    std::string why;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](SupervisedServer* s)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return s->stopping_ || s->reopen_wanted_; },
          this));
      if (stopping_) break;
      reopen_wanted_ = false;
      why = std::move(reopen_why_);
      if (!MayReopen()) {
        Log(Severity::kError,
            "storage: not reopening the store again (%d reopens in the last hour: the device "
            "keeps failing); writes stay refused and health NOT_SERVING until a restart after "
            "the repair",
            kMaxReopensPerHour);
        continue;
      }
      ++generation_;  // requests from the server being replaced are ignored from now on
      old = std::move(server_);
    }
    ended = Reopen(std::move(old), why);
    if (!ended.ok()) break;
  }
  std::unique_ptr<TriageServer> last;
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
  ended_ = ended;
  closed_ = true;
}

absl::Status SupervisedServer::Reopen(std::unique_ptr<TriageServer> old, const std::string& why) {
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
      if (stopping_) return absl::OkStatus();
      generation = ++generation_;  // a failed attempt's requests are ignored too
    }
    absl::StatusOr<std::unique_ptr<TriageServer>> started =
        TriageServer::Start(OptionsFor(generation));
    if (!started.ok() && started.status().code() != absl::StatusCode::kUnavailable) {
      Log(Severity::kError, "storage: reopening the store failed (%s); stopping",
          started.status().message());
      return started.status();
    }
    if (started.ok()) {
      TriageServer* server = started->get();
      {
        absl::MutexLock lock(&mu_);
        server_ = *std::move(started);
        ++reopens_;
        Log(Severity::kInfo, "storage: store reopened (%d since start); serving on %s again",
            reopens_, address_);
      }
      // A SIGHUP between the start's own check (before_listening) and server_ being set.
      // Only this thread destroys the server, so `server` stays valid here.
      ApplyPendingReload(*server);
      return absl::OkStatus();  // a Shutdown meanwhile is seen by Run at once
    }
    Log(Severity::kError, "storage: reopening the store failed (%s); next try in %s",
        started.status().message(), absl::FormatDuration(pause));
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
    pause = std::min(pause * 2, kLongestRetry);
  }
}

}  // namespace safeguarding::services
