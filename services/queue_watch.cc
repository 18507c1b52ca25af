#include "services/queue_watch.h"

#include <map>

#include "services/status_mapping.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

// One stream. Owned by gRPC until OnDone, which tells the hub and deletes it.
class QueueWatch final : public grpc::ServerWriteReactor<v1::QueueSummary> {
 public:
  QueueWatch(QueueWatches* hub, std::string principal, std::vector<std::string> queues)
      : hub_(hub), principal_(std::move(principal)), queues_(queues.begin(), queues.end()) {}

  const std::string& principal() const { return principal_; }

  // Queues the summaries of watched queues that changed since they were last sent.
  void Offer(const std::vector<v1::QueueSummary>& all) {
    bool write = false;
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      for (const v1::QueueSummary& summary : all) {
        if (!queues_.empty() && !queues_.contains(summary.queue())) continue;
        std::string bytes = summary.SerializeAsString();
        std::string& last = last_sent_[summary.queue()];
        if (last == bytes) continue;
        last = std::move(bytes);
        pending_[summary.queue()] = summary;  // only the latest per queue waits
      }
      write = TakeNextLocked();
    }
    // gRPC calls are made without our lock: OnDone may run (and delete this) right after.
    if (write) StartWrite(&in_flight_);
  }

  // Ends the stream once (after the write in flight, if any).
  void End(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (ended_) return;
      ended_ = true;
      end_status_ = status;
      if (writing_) return;  // OnWriteDone finishes
    }
    Finish(status);
  }

  void OnWriteDone(bool ok) override {
    grpc::Status finish;
    bool write = false, finish_now = false;
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (!ended_ && !ok) {  // the client has gone
        ended_ = true;
        end_status_ = grpc::Status::CANCELLED;
      }
      if (ended_) {
        finish = end_status_;
        finish_now = true;
      } else {
        write = TakeNextLocked();
      }
    }
    if (write) {
      StartWrite(&in_flight_);
    } else if (finish_now) {
      Finish(finish);
    }
  }
  void OnCancel() override { End(grpc::Status::CANCELLED); }
  void OnDone() override {
    hub_->Gone(this);
    delete this;
  }

 private:
  // Moves the next pending summary into in_flight_ if no write is in flight.
  bool TakeNextLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || pending_.empty()) return false;
    in_flight_ = std::move(pending_.begin()->second);
    pending_.erase(pending_.begin());
    writing_ = true;
    return true;
  }

  QueueWatches* const hub_;
  const std::string principal_;
  const absl::flat_hash_set<std::string> queues_;
  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  v1::QueueSummary in_flight_;  // written only while no write is in flight
  std::map<std::string, v1::QueueSummary> pending_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::string> last_sent_ ABSL_GUARDED_BY(mu_);
};

QueueWatches::QueueWatches(const triage::Desk* desk, size_t max_per_principal,
                           absl::Duration interval)
    : desk_(desk), max_per_principal_(max_per_principal), interval_(interval) {
  hub_ = std::thread([this] { Run(); });
}

QueueWatches::~QueueWatches() {
  FinishAll();
  {
    // Streams end asynchronously: wait (briefly) until gRPC has let go of every one.
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(
        absl::Condition(
            +[](absl::flat_hash_map<std::string, size_t>* m) { return m->empty(); },
            &per_principal_),
        absl::Seconds(5));
  }
  if (hub_.joinable()) hub_.join();
}

grpc::ServerWriteReactor<v1::QueueSummary>* QueueWatches::Start(const triage::Caller& caller,
                                                                std::vector<std::string> queues) {
  auto* watch = new QueueWatch(this, caller.principal, queues);
  grpc::Status refused;
  {
    absl::MutexLock lock(&mu_);
    size_t& count = per_principal_[caller.principal];
    ++count;  // counted until OnDone, whatever happens next
    if (stopping_) {
      refused = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is stopping");
    } else if (count > max_per_principal_) {
      refused = grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("at most ", max_per_principal_, " WatchQueues streams per principal"));
    }
  }
  if (refused.ok()) refused = ToGrpcStatus(desk_->CheckQueues(queues));
  if (!refused.ok()) {
    watch->End(refused);
    return watch;
  }
  desk_->RecordWatch(caller, [this, watch](absl::Status recorded) {
    if (!recorded.ok()) {
      watch->End(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "audit trail unavailable; nothing disclosed"));
      return;
    }
    Started(watch);
  });
  return watch;
}

void QueueWatches::Started(QueueWatch* watch) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      watch->End(grpc::Status::OK);
      return;
    }
    live_.insert(watch);
  }
  watch->Offer(desk_->Summaries({}));  // the snapshot
}

void QueueWatches::Gone(QueueWatch* watch) {
  absl::MutexLock lock(&mu_);
  live_.erase(watch);
  auto it = per_principal_.find(watch->principal());
  if (it != per_principal_.end() && --it->second == 0) per_principal_.erase(it);
}

void QueueWatches::FinishAll() {
  absl::MutexLock lock(&mu_);
  stopping_ = true;
  for (QueueWatch* watch : live_) watch->End(grpc::Status::OK);
  live_.clear();
}

void QueueWatches::Run() {
  uint64_t seen = desk_->QueuesVersion();
  for (;;) {
    std::vector<QueueWatch*> watches;
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) return;
      const uint64_t now = desk_->QueuesVersion();
      if (now == seen || live_.empty()) continue;
      seen = now;
      watches.assign(live_.begin(), live_.end());
    }
    const std::vector<v1::QueueSummary> all = desk_->Summaries({});
    absl::MutexLock lock(&mu_);  // a watch in live_ is not deleted while this is held
    for (QueueWatch* watch : watches) {
      if (live_.contains(watch)) watch->Offer(all);
    }
  }
}

}  // namespace safeguarding::services
