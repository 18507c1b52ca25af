// RateLimiter: a token bucket per principal, so one caller (a runaway front end, a stolen
// token) cannot crowd out everyone else. Time comes from the injected clock.
//
// Thread-safe.
#ifndef SAFEGUARDING_SERVICES_RATE_LIMITER_H_
#define SAFEGUARDING_SERVICES_RATE_LIMITER_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace safeguarding::services {

class RateLimiter {
 public:
  // `per_second` tokens are added per second up to `burst`. per_second <= 0 disables it.
  RateLimiter(const common::Clock* clock, double per_second, double burst)
      : clock_(clock), per_second_(per_second), burst_(burst) {}

  // Takes one token for `principal`. When none is left, returns how long until one is.
  // Buckets that have filled up again are forgotten once many keys are held (a full
  // bucket is what a new key gets), so keys from a flood of addresses cannot grow the map
  // without bound.
  absl::Duration Acquire(absl::string_view principal);

  size_t keys() const;

 private:
  struct Bucket {
    double tokens;
    absl::Time updated;
  };
  const common::Clock* const clock_;
  const double per_second_;
  const double burst_;
  // Forgets the buckets that are full again at `now`.
  void ForgetFull(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  static constexpr size_t kSweepAbove = 4096;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
  size_t sweep_at_ ABSL_GUARDED_BY(mu_) = kSweepAbove;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_RATE_LIMITER_H_
