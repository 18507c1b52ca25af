// QueueWatches: the live TriageDesk.WatchQueues streams.
//
// A stream starts once its call is on record in the audit trail. The hub thread then
// sends it a snapshot (the summary of every watched queue) and, looking at the queues every
// `interval` (250 ms: at most four updates a second per stream, however busy the desk is),
// the summaries of its queues that differ from what it last sent; it also recomputes every
// few seconds, since waits and SLA breaches move with time. Summaries are computed once
// per look for all streams, on the hub thread. A stream whose client reads slowly keeps
// only the latest summary per queue. Streams end when the client cancels, and all at once
// (OK) when the server stops, before it waits for calls in flight, so watchers never hold
// up a drain. Each principal may hold `max_per_principal` streams; more are
// RESOURCE_EXHAUSTED.
//
// Lifetimes: gRPC owns each stream's reactor until OnDone. Everything else (the hub, an
// audit callback still on its way) reaches a stream only through its shared state, which
// keeps the reactor alive while in use and lets it go once OnDone has run; the hub's own
// state is shared the same way, so a late callback never touches a destroyed hub.
//
// Thread-safe.
#ifndef SAFEGUARDING_SERVICES_QUEUE_WATCH_H_
#define SAFEGUARDING_SERVICES_QUEUE_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"
#include "services/rpc_observer.h"
#include "triage/caller.h"
#include "triage/desk.h"

namespace safeguarding::services {

class QueueWatches {
 public:
  QueueWatches(const triage::Desk* desk, size_t max_per_principal = 4,
               absl::Duration interval = absl::Milliseconds(250));
  // Ends every stream and stops the hub (the desk must outlive this).
  ~QueueWatches();
  QueueWatches(const QueueWatches&) = delete;
  QueueWatches& operator=(const QueueWatches&) = delete;

  // The reactor of a new stream for `caller` watching `queues` (all when empty); `timer`
  // is told the stream's status when it is done.
  grpc::ServerWriteReactor<triage::v1::QueueSummary>* Start(const triage::Caller& caller,
                                                            std::vector<std::string> queues,
                                                            RpcTimer timer = RpcTimer());
  // Ends every stream with OK; later streams are ended at once (the server is stopping).
  void FinishAll();

  struct Hub;    // shared by the hub thread, the streams and their audit callbacks
  struct Watch;  // one stream's shared state

 private:
  void Run();

  const triage::Desk* const desk_;
  const absl::Duration interval_;
  std::shared_ptr<Hub> hub_;
  std::thread thread_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_QUEUE_WATCH_H_
