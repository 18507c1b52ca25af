#include "tools/loadgen/throttle.h"

#include <algorithm>

namespace safeguarding::loadgen {

AdaptiveThrottle::AdaptiveThrottle(double k, absl::Duration window)
    : k_(k), bucket_us_(std::max<int64_t>(1, absl::ToInt64Microseconds(window) / kBuckets)) {}

AdaptiveThrottle::Bucket& AdaptiveThrottle::BucketAt(absl::Time now) {
  const int64_t slot = absl::ToUnixMicros(now) / bucket_us_;
  Bucket& b = buckets_[static_cast<size_t>(slot % kBuckets)];
  if (b.start_us != slot * bucket_us_) b = Bucket{slot * bucket_us_, 0, 0};
  return b;
}

bool AdaptiveThrottle::Admit(absl::Time now, double random) {
  absl::MutexLock lock(&mu_);
  Bucket& current = BucketAt(now);
  const int64_t oldest = (absl::ToUnixMicros(now) / bucket_us_ - kBuckets + 1) * bucket_us_;
  double requests = 0, accepts = 0;
  for (const Bucket& b : buckets_) {
    if (b.start_us < oldest) continue;  // outside the window
    requests += static_cast<double>(b.requests);
    accepts += static_cast<double>(b.accepts);
  }
  // From the history before this request; then this one counts too, sent or not.
  const double reject = std::max(0.0, (requests - k_ * accepts) / (requests + 1));
  ++current.requests;
  return random >= reject;
}

void AdaptiveThrottle::Answered(absl::Time now, grpc::StatusCode code) {
  if (IsOverload(code)) return;
  absl::MutexLock lock(&mu_);
  ++BucketAt(now).accepts;
}

bool AdaptiveThrottle::IsOverload(grpc::StatusCode code) {
  return code == grpc::StatusCode::RESOURCE_EXHAUSTED || code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED || code == grpc::StatusCode::CANCELLED;
}

}  // namespace safeguarding::loadgen
