#include "tools/loadgen/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace safeguarding::loadgen {
namespace {

constexpr int64_t kSubBuckets = int64_t{1} << LatencyHistogram::kSubBucketBits;  // 32
constexpr int64_t kExact = 2 * kSubBuckets;  // 0..63 each have a bucket of their own
constexpr int kFirstExponent = LatencyHistogram::kSubBucketBits + 1;  // 2^6 = 64

int64_t Clamp(int64_t value) { return std::clamp<int64_t>(value, 0, LatencyHistogram::kMaxValue); }

}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(BucketOf(kMaxValue) + 1, 0) {}

size_t LatencyHistogram::BucketOf(int64_t value) {
  const uint64_t v = static_cast<uint64_t>(Clamp(value));
  if (v < static_cast<uint64_t>(kExact)) return static_cast<size_t>(v);
  const int exponent = 63 - std::countl_zero(v);  // 2^exponent <= v
  const int shift = exponent - kSubBucketBits;
  const uint64_t sub = v >> shift;  // kSubBuckets .. 2 * kSubBuckets - 1
  return static_cast<size_t>(kExact + (exponent - kFirstExponent) * kSubBuckets +
                             static_cast<int64_t>(sub) - kSubBuckets);
}

int64_t LatencyHistogram::LowestOf(size_t bucket) {
  const int64_t b = static_cast<int64_t>(bucket);
  if (b < kExact) return b;
  const int64_t k = b - kExact;
  const int shift = static_cast<int>(k / kSubBuckets) + kFirstExponent - kSubBucketBits;
  return (kSubBuckets + k % kSubBuckets) << shift;
}

int64_t LatencyHistogram::HighestOf(size_t bucket) {
  if (static_cast<int64_t>(bucket) < kExact) return static_cast<int64_t>(bucket);
  return LowestOf(bucket + 1) - 1;
}

void LatencyHistogram::Record(int64_t value) {
  value = Clamp(value);
  ++counts_[BucketOf(value)];
  min_ = count_ == 0 ? value : std::min(min_, value);
  max_ = std::max(max_, value);
  sum_ += static_cast<double>(value);
  ++count_;
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  min_ = count_ == 0 ? other.min_ : std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  count_ += other.count_;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : sum_ / static_cast<double>(count_);
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_));
  const int64_t rank = std::max<int64_t>(1, static_cast<int64_t>(wanted));
  int64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return std::min(HighestOf(i), max_);
  }
  return max_;
}

}  // namespace safeguarding::loadgen
