// A log-linear latency histogram, laid out as HdrHistogram lays out its buckets: values
// below 64 are counted exactly; above, each power of two [2^e, 2^(e+1)) is cut into 32
// equal buckets, so a bucket is at most 1/32 (3.1%) of its values wide. The memory is fixed
// (a few thousand counters) whatever the number of calls, two histograms merge by adding
// counters, and a percentile is the highest value of the bucket it falls in (never lower
// than the true value, at most 3.1% above it; HdrHistogram's "highest equivalent value").
//
// Values are whole microseconds; negative ones count as 0, those past kMaxValue (about 38
// hours) as kMaxValue. Not thread safe: one per recording thread, or a lock around it.
#ifndef SAFEGUARDING_TOOLS_LOADGEN_HISTOGRAM_H_
#define SAFEGUARDING_TOOLS_LOADGEN_HISTOGRAM_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace safeguarding::loadgen {

class LatencyHistogram {
 public:
  static constexpr int kSubBucketBits = 5;  // 32 buckets per power of two
  static constexpr int64_t kMaxValue = (int64_t{1} << 37) - 1;

  LatencyHistogram();

  void Record(int64_t value);
  void Merge(const LatencyHistogram& other);

  int64_t count() const { return count_; }
  // Exact, over what was recorded; 0 when nothing was.
  int64_t min() const { return count_ == 0 ? 0 : min_; }
  int64_t max() const { return max_; }
  double mean() const;
  // The value at or below which a fraction q (0 to 1) of the values fall: the highest value
  // of that value's bucket, and never above max(). 0 when nothing was recorded.
  int64_t Percentile(double q) const;

  // The bucket a value falls in and the bucket's bounds (for tests and merging).
  static size_t BucketOf(int64_t value);
  static int64_t LowestOf(size_t bucket);
  static int64_t HighestOf(size_t bucket);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  double sum_ = 0;
};

}  // namespace safeguarding::loadgen

#endif  // SAFEGUARDING_TOOLS_LOADGEN_HISTOGRAM_H_
