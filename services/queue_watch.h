// QueueWatches: the live TriageDesk.WatchQueues streams.
//
// A stream starts once its call is on record in the audit trail, with a snapshot: the
// summary of every watched queue. One hub thread then looks at the queues every
// `interval` (250 ms: at most four updates a second per stream, however busy the desk
// is); when they changed, it computes the summaries once and offers each stream those of
// its queues that differ from what it last sent. A stream whose client reads slowly keeps
// only the latest summary per queue. Streams end when the client cancels, and all at once
// (OK) when the server stops, before it waits for calls in flight, so watchers never hold
// up a drain. Each principal may hold `max_per_principal` streams; more are
// RESOURCE_EXHAUSTED.
//
// Thread-safe.
#ifndef SAFEGUARDING_SERVICES_QUEUE_WATCH_H_
#define SAFEGUARDING_SERVICES_QUEUE_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"
#include "triage/caller.h"
#include "triage/desk.h"

namespace safeguarding::services {

class QueueWatch;

class QueueWatches {
 public:
  QueueWatches(const triage::Desk* desk, size_t max_per_principal = 4,
               absl::Duration interval = absl::Milliseconds(250));
  // Ends every stream and stops the hub.
  ~QueueWatches();
  QueueWatches(const QueueWatches&) = delete;
  QueueWatches& operator=(const QueueWatches&) = delete;

  // The reactor of a new stream for `caller` watching `queues` (all when empty).
  grpc::ServerWriteReactor<triage::v1::QueueSummary>* Start(const triage::Caller& caller,
                                                            std::vector<std::string> queues);
  // Ends every stream with OK; later Starts are ended at once (the server is stopping).
  void FinishAll();

  // For QueueWatch: it has started (on record) or is gone.
  void Started(QueueWatch* watch);
  void Gone(QueueWatch* watch);
  const triage::Desk& desk() const { return *desk_; }

 private:
  void Run();

  const triage::Desk* const desk_;
  const size_t max_per_principal_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_set<QueueWatch*> live_ ABSL_GUARDED_BY(mu_);  // started, sent to by the hub
  absl::flat_hash_map<std::string, size_t> per_principal_ ABSL_GUARDED_BY(mu_);
  std::thread hub_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_QUEUE_WATCH_H_
