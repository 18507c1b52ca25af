// AdaptiveThrottle: client-side throttling as "Handling Overload" in Google's SRE book
// describes it, which well-behaved front ends of the service should do too. Each client
// counts, over a sliding window, the requests it wanted to send and those the server
// accepted (answered with anything but an overload code); once requests exceed K times
// accepts, it refuses new requests itself, with probability
//   max(0, (requests - K * accepts) / (requests + 1)),
// so that a server past its capacity spends no CPU even on refusing most of the excess.
//
// Thread-safe.
#ifndef SAFEGUARDING_TOOLS_LOADGEN_THROTTLE_H_
#define SAFEGUARDING_TOOLS_LOADGEN_THROTTLE_H_

#include <grpcpp/grpcpp.h>

#include <array>
#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace safeguarding::loadgen {

class AdaptiveThrottle {
 public:
  // `k` > 1 (the SRE book suggests 2); `window`: how far back requests and accepts count.
  AdaptiveThrottle(double k, absl::Duration window);

  // Counts a request wanted at `now`; false when the client should refuse it itself
  // (`random` uniform in [0, 1)).
  bool Admit(absl::Time now, double random);
  // Counts an answer the server gave at `now`.
  void Answered(absl::Time now, grpc::StatusCode code);

  // Overload codes: the server refused or could not answer in time.
  static bool IsOverload(grpc::StatusCode code);

 private:
  static constexpr int kBuckets = 20;
  struct Bucket {
    int64_t start_us = 0;  // the bucket's slot start; stale buckets are reset on use
    int64_t requests = 0;
    int64_t accepts = 0;
  };
  Bucket& BucketAt(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const double k_;
  const int64_t bucket_us_;
  absl::Mutex mu_;
  std::array<Bucket, kBuckets> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace safeguarding::loadgen

#endif  // SAFEGUARDING_TOOLS_LOADGEN_THROTTLE_H_
