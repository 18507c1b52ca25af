#include "services/queue_watch.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/status_mapping.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

namespace {

// How often the summaries are recomputed even when no queue changed (waits and SLA
// breaches move with time).
constexpr absl::Duration kRefresh = absl::Seconds(5);

class WatchReactor;

}  // namespace

struct QueueWatches::Hub {
  explicit Hub(size_t max) : max_per_principal(max) {}

  // A stream is on record: it gets its snapshot at the hub's next look.
  void Ready(const std::shared_ptr<Watch>& watch, const absl::Status& recorded);
  // A stream is done (OnDone).
  void Gone(Watch* watch);

  const size_t max_per_principal;
  absl::Mutex mu;
  bool stopping ABSL_GUARDED_BY(mu) = false;
  std::vector<std::shared_ptr<Watch>> starting ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<Watch*, std::shared_ptr<Watch>> live ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, size_t> per_principal ABSL_GUARDED_BY(mu);
};

struct QueueWatches::Watch {
  Watch(std::shared_ptr<Hub> h, std::string p, const std::vector<std::string>& q, RpcTimer t)
      : hub(std::move(h)), principal(std::move(p)), queues(q.begin(), q.end()), timer(t) {}

  // Queues the summaries of watched queues that changed since they were last sent.
  void Offer(const std::vector<v1::QueueSummary>& all);
  // Ends the stream once (after the write in flight, if any).
  void End(const grpc::Status& status);
  void WriteDone(bool ok);
  // OnDone: no one may use the reactor from now on. True if it may be deleted now (else
  // the last one using it deletes it).
  bool Done();
  // The code the stream ended with (CANCELLED if it never ended).
  grpc::StatusCode EndCode();

  // Runs `act` on the reactor unless it is done; it is not deleted meanwhile. gRPC calls
  // are made without `mu` held: OnDone may run on another thread (or this one) after them.
  template <typename Act>
  void WithReactor(Act act);
  // Moves the next pending summary into in_flight if no write is in flight.
  bool TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  const std::shared_ptr<Hub> hub;
  const std::string principal;
  const absl::flat_hash_set<std::string> queues;
  const RpcTimer timer;
  absl::Mutex mu;
  WatchReactor* reactor ABSL_GUARDED_BY(mu) = nullptr;  // null once done
  int users ABSL_GUARDED_BY(mu) = 0;
  bool done ABSL_GUARDED_BY(mu) = false;
  bool writing ABSL_GUARDED_BY(mu) = false;
  bool ended ABSL_GUARDED_BY(mu) = false;
  grpc::Status end_status ABSL_GUARDED_BY(mu);
  std::map<std::string, v1::QueueSummary> pending ABSL_GUARDED_BY(mu);
  absl::flat_hash_map<std::string, std::string> last_sent ABSL_GUARDED_BY(mu);
  v1::QueueSummary in_flight;  // written only while no write is in flight
};

namespace {

class WatchReactor final : public grpc::ServerWriteReactor<v1::QueueSummary> {
 public:
  explicit WatchReactor(std::shared_ptr<QueueWatches::Watch> watch) : watch_(std::move(watch)) {}
  void OnWriteDone(bool ok) override { watch_->WriteDone(ok); }
  void OnCancel() override { watch_->End(grpc::Status::CANCELLED); }
  void OnDone() override {
    std::shared_ptr<QueueWatches::Watch> watch = watch_;
    watch->timer.Done(watch->EndCode());
    watch->hub->Gone(watch.get());
    if (watch->Done()) delete this;
  }

 private:
  const std::shared_ptr<QueueWatches::Watch> watch_;
};

}  // namespace

template <typename Act>
void QueueWatches::Watch::WithReactor(Act act) {
  WatchReactor* r;
  {
    absl::MutexLock lock(&mu);
    if (reactor == nullptr) return;
    r = reactor;
    ++users;
  }
  act(*r);
  bool last;
  {
    absl::MutexLock lock(&mu);
    last = --users == 0 && done;
  }
  if (last) delete r;
}

bool QueueWatches::Watch::Done() {
  absl::MutexLock lock(&mu);
  done = true;
  reactor = nullptr;
  return users == 0;
}

grpc::StatusCode QueueWatches::Watch::EndCode() {
  absl::MutexLock lock(&mu);
  return ended ? end_status.error_code() : grpc::StatusCode::CANCELLED;
}

bool QueueWatches::Watch::TakeNextLocked() {
  if (writing || pending.empty()) return false;
  in_flight = std::move(pending.begin()->second);
  pending.erase(pending.begin());
  writing = true;
  return true;
}

void QueueWatches::Watch::Offer(const std::vector<v1::QueueSummary>& all) {
  bool write = false;
  {
    absl::MutexLock lock(&mu);
    if (ended) return;
    for (const v1::QueueSummary& summary : all) {
      if (!queues.empty() && !queues.contains(summary.queue())) continue;
      std::string bytes = summary.SerializeAsString();
      std::string& last = last_sent[summary.queue()];
      if (last == bytes) continue;
      last = std::move(bytes);
      pending[summary.queue()] = summary;  // only the latest per queue waits
    }
    write = TakeNextLocked();
  }
  if (write) WithReactor([this](WatchReactor& r) { r.StartWrite(&in_flight); });
}

void QueueWatches::Watch::End(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu);
    if (ended) return;
    ended = true;
    end_status = status;
    if (writing) return;  // WriteDone finishes
  }
  WithReactor([&status](WatchReactor& r) { r.Finish(status); });
}

void QueueWatches::Watch::WriteDone(bool ok) {
  grpc::Status finish;
  bool write = false, finish_now = false;
  {
    absl::MutexLock lock(&mu);
    writing = false;
    if (!ended && !ok) {  // the client has gone
      ended = true;
      end_status = grpc::Status::CANCELLED;
    }
    if (ended) {
      finish = end_status;
      finish_now = true;
    } else {
      write = TakeNextLocked();
    }
  }
  if (write) {
    WithReactor([this](WatchReactor& r) { r.StartWrite(&in_flight); });
  } else if (finish_now) {
    WithReactor([&finish](WatchReactor& r) { r.Finish(finish); });
  }
}

void QueueWatches::Hub::Ready(const std::shared_ptr<Watch>& watch, const absl::Status& recorded) {
  if (!recorded.ok()) {
    watch->End(
        grpc::Status(grpc::StatusCode::UNAVAILABLE, "audit trail unavailable; nothing disclosed"));
    return;
  }
  {
    absl::MutexLock lock(&mu);
    if (!stopping) {
      starting.push_back(watch);
      return;
    }
  }
  watch->End(grpc::Status::OK);
}

void QueueWatches::Hub::Gone(Watch* watch) {
  absl::MutexLock lock(&mu);
  live.erase(watch);
  auto it = per_principal.find(watch->principal);
  if (it != per_principal.end() && --it->second == 0) per_principal.erase(it);
}

QueueWatches::QueueWatches(const triage::Desk* desk, size_t max_per_principal,
                           absl::Duration interval)
    : desk_(desk), interval_(interval), hub_(std::make_shared<Hub>(max_per_principal)) {
  thread_ = std::thread([this] { Run(); });
}

QueueWatches::~QueueWatches() {
  FinishAll();
  if (thread_.joinable()) thread_.join();
}

grpc::ServerWriteReactor<v1::QueueSummary>* QueueWatches::Start(const triage::Caller& caller,
                                                                std::vector<std::string> queues,
                                                                RpcTimer timer) {
  auto watch = std::make_shared<Watch>(hub_, caller.principal, queues, timer);
  auto* reactor = new WatchReactor(watch);
  {
    absl::MutexLock lock(&watch->mu);
    watch->reactor = reactor;
  }
  grpc::Status refused;
  {
    absl::MutexLock lock(&hub_->mu);
    const size_t count = ++hub_->per_principal[caller.principal];  // until OnDone
    if (hub_->stopping) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping");
    } else if (count > hub_->max_per_principal) {
      refused = grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("at most ", hub_->max_per_principal, " WatchQueues streams per principal"));
    }
  }
  if (refused.ok()) refused = ToGrpcStatus(desk_->CheckQueues(queues));
  if (!refused.ok()) {
    // On record like any refusal (it discloses nothing, so it is answered either way).
    desk_->RecordWatch(caller, static_cast<absl::StatusCode>(refused.error_code()),
                       [watch, refused](absl::Status) { watch->End(refused); });
    return reactor;
  }
  // The callback may run after this QueueWatches is gone: it holds the shared states only.
  desk_->RecordWatch(caller, absl::StatusCode::kOk,
                     [hub = hub_, watch](absl::Status recorded) { hub->Ready(watch, recorded); });
  return reactor;
}

void QueueWatches::FinishAll() {
  std::vector<std::shared_ptr<Watch>> ending;
  {
    absl::MutexLock lock(&hub_->mu);
    hub_->stopping = true;
    for (auto& [ptr, watch] : hub_->live) ending.push_back(watch);
    for (auto& watch : hub_->starting) ending.push_back(watch);
    hub_->live.clear();
    hub_->starting.clear();
  }
  for (const auto& watch : ending) watch->End(grpc::Status::OK);
}

void QueueWatches::Run() {
  uint64_t seen = desk_->QueuesVersion();
  absl::Time computed = absl::InfinitePast();
  for (;;) {
    std::vector<std::shared_ptr<Watch>> starting, live;
    bool changed = false;
    {
      absl::MutexLock lock(&hub_->mu);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(hub_->mu) {
        return hub_->stopping || !hub_->starting.empty();
      };
      hub_->mu.AwaitWithTimeout(absl::Condition(&wake), interval_);
      if (hub_->stopping) return;
      starting.swap(hub_->starting);
      for (const auto& watch : starting) hub_->live[watch.get()] = watch;
      const uint64_t version = desk_->QueuesVersion();
      changed = version != seen || absl::Now() - computed >= kRefresh;
      seen = version;
      if (changed) {
        for (auto& [ptr, watch] : hub_->live) live.push_back(watch);
      }
    }
    if (starting.empty() && (!changed || live.empty())) continue;
    const std::vector<v1::QueueSummary> all = desk_->Summaries({});
    computed = absl::Now();
    // Offered without the hub's lock; the shared states keep every stream alive meanwhile.
    for (const auto& watch : starting) watch->Offer(all);  // its snapshot
    for (const auto& watch : live) watch->Offer(all);
  }
}

}  // namespace safeguarding::services
