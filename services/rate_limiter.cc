#include "services/rate_limiter.h"

#include <algorithm>

namespace safeguarding::services {

absl::Duration RateLimiter::Acquire(absl::string_view principal) {
  if (per_second_ <= 0) return absl::ZeroDuration();
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (buckets_.size() >= sweep_at_) ForgetFull(now);
  auto [it, inserted] = buckets_.try_emplace(principal, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!inserted) {
    b.tokens = std::min(burst_, b.tokens + absl::ToDoubleSeconds(now - b.updated) * per_second_);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1.0 - b.tokens) / per_second_);
}

void RateLimiter::ForgetFull(absl::Time now) {
  absl::erase_if(buckets_, [&](const auto& entry) {
    const Bucket& b = entry.second;
    return b.tokens + absl::ToDoubleSeconds(now - b.updated) * per_second_ >= burst_;
  });
  // The next sweep once the map has doubled: amortised O(1) per call.
  sweep_at_ = std::max(kSweepAbove, 2 * buckets_.size());
}

size_t RateLimiter::keys() const {
  absl::MutexLock lock(&mu_);
  return buckets_.size();
}

}  // namespace safeguarding::services
