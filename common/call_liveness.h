// CallLiveness: whether the client of a call still waits for its answer. The services layer
// makes one per call (its deadline, and cancelled when gRPC says the client went away or the
// deadline passed); the domain hands it with the change it asks the store for, so work a
// client gave up on is dropped before it reaches the disk (the committer skips it) instead
// of taking a flooded server's time from calls that can still be answered.
//
// Thread-safe: Cancel() from gRPC's threads, Wanted() from the committer's.
#ifndef SAFEGUARDING_COMMON_CALL_LIVENESS_H_
#define SAFEGUARDING_COMMON_CALL_LIVENESS_H_

#include <atomic>

#include "absl/time/time.h"

namespace safeguarding::common {

class CallLiveness {
 public:
  // absl::InfiniteFuture(): no deadline.
  explicit CallLiveness(absl::Time deadline) : deadline_(deadline) {}

  void Cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  // False once cancelled or at `now` past the deadline: nobody waits for the answer.
  bool Wanted(absl::Time now) const {
    return !cancelled_.load(std::memory_order_relaxed) && now < deadline_;
  }
  absl::Time deadline() const { return deadline_; }

 private:
  const absl::Time deadline_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_CALL_LIVENESS_H_
