// Statistics::Queues: the queues now (from the queue index) and over a window (from the
// hourly distributions of the reports decided in it).
#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "triage/statistics.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::util::TimeUtil;

constexpr absl::Duration kDefaultWindow = absl::Hours(24 * 7);
constexpr absl::Duration kMaxWindow = absl::Hours(24 * 366);

using Histogram = std::array<uint64_t, kDurationBuckets>;

struct Window {
  int32_t first_hour = 0;  // hours since 1970, inclusive
  int32_t last_hour = 0;
};

// The duration a bucket stands for: its geometric middle.
absl::Duration Representative(uint16_t bucket) {
  if (bucket == 0) return absl::Milliseconds(500);
  if (bucket >= kDurationBuckets - 1) return BucketLowerBound(bucket);
  return absl::Seconds(std::sqrt(absl::ToDoubleSeconds(BucketLowerBound(bucket)) *
                                 absl::ToDoubleSeconds(BucketUpperBound(bucket))));
}

uint64_t CountIn(const Histogram& h) {
  uint64_t n = 0;
  for (uint64_t c : h) n += c;
  return n;
}

absl::Duration Quantile(const Histogram& h, uint64_t n, double q) {
  const auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
  uint64_t seen = 0;
  for (uint16_t b = 0; b < kDurationBuckets; ++b) {
    seen += h[b];
    if (seen >= rank && seen > 0) return Representative(b);
  }
  return Representative(kDurationBuckets - 1);
}

google::protobuf::Duration Proto(absl::Duration d) {
  return TimeUtil::MicrosecondsToDuration(absl::ToInt64Microseconds(d));
}

v1::DurationPercentiles PercentilesOf(const Histogram& h, Disclosure d,
                                      const SmallCountPolicy& small) {
  v1::DurationPercentiles out;
  const uint64_t n = CountIn(h);
  *out.mutable_count() = CountOf(small.Disclose(n, d));
  if (n == 0 || out.count().suppressed()) {
    out.set_suppressed(true);
    return out;
  }
  // A high percentile of few durations is one report's: for monitors p90 needs 10 and p99
  // 100 durations (unset below).
  const bool exact = d == Disclosure::kExact;
  *out.mutable_p50() = Proto(Quantile(h, n, 0.50));
  if (exact || n >= 10) *out.mutable_p90() = Proto(Quantile(h, n, 0.90));
  if (exact || n >= 100) *out.mutable_p99() = Proto(Quantile(h, n, 0.99));
  return out;
}

struct Figures {
  Histogram wait = {};
  Histogram decision = {};
  uint64_t breaches = 0;
};

[[nodiscard]] absl::Status ReadFigures(const storage::CounterReader& reader,
                                       const std::string& queue, v1::Priority priority,
                                       const Window& window, Figures& f) {
  const std::vector<storage::GroupPart> group = QueuePriorityGroup(queue, priority);
  auto into = [](Histogram& h) {
    return [&h](int32_t, const std::vector<uint64_t>& cells) {
      for (size_t b = 0; b < cells.size() && b < h.size(); ++b) h[b] += cells[b];
    };
  };
  absl::Status s =
      reader.Scan(kWaitSeries, group, window.first_hour, window.last_hour, into(f.wait));
  if (s.ok()) {
    s = reader.Scan(kDecisionTimeSeries, group, window.first_hour, window.last_hour,
                    into(f.decision));
  }
  if (!s.ok()) return s;
  const int32_t first_day = static_cast<int32_t>(std::floor(window.first_hour / 24.0));
  const int32_t last_day = static_cast<int32_t>(std::floor(window.last_hour / 24.0));
  return reader.Scan(kSlaBreachSeries, group, first_day, last_day,
                     [&](int32_t day, const std::vector<uint64_t>& cells) {
                       for (size_t h = 0; h < cells.size() && h < 24; ++h) {
                         const int64_t hour = int64_t{day} * 24 + static_cast<int64_t>(h);
                         if (hour >= window.first_hour && hour <= window.last_hour) {
                           f.breaches += cells[h];
                         }
                       }
                     });
}

void Merge(Figures& into, const Figures& f) {
  for (size_t b = 0; b < into.wait.size(); ++b) {
    into.wait[b] += f.wait[b];
    into.decision[b] += f.decision[b];
  }
  into.breaches += f.breaches;
}

// Depth, decisions and breaches per priority are each a row with the queue's figure as its
// total (SmallCountPolicy::DiscloseRow), so a hidden priority is not the total minus the
// others.
void Fill(const storage::QueueCounts& c, const std::array<Figures, 5>& figures, Disclosure d,
          const SmallCountPolicy& small, v1::QueueStatistics& q) {
  std::vector<uint64_t> depth, decided, breaches;
  Figures all;
  for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
    depth.push_back(c.waiting_by_tier[p]);
    decided.push_back(CountIn(figures[p].decision));
    breaches.push_back(figures[p].breaches);
    Merge(all, figures[p]);
  }
  const SmallCountPolicy::Row depth_row = small.DiscloseRow(depth, d);
  const SmallCountPolicy::Row decided_row = small.DiscloseRow(decided, d);
  const SmallCountPolicy::Row breach_row = small.DiscloseRow(breaches, d);
  q.set_queue(c.queue);
  *q.mutable_depth() = CountOf(depth_row.total);
  *q.mutable_claimed() = CountOf(small.Disclose(c.claimed, d));
  *q.mutable_past_due() = CountOf(small.Disclose(c.past_due, d));
  *q.mutable_decided() = CountOf(decided_row.total);
  *q.mutable_sla_breaches() = CountOf(breach_row.total);
  *q.mutable_wait() = PercentilesOf(all.wait, d, small);
  *q.mutable_time_to_decision() = PercentilesOf(all.decision, d, small);
  for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
    v1::PriorityStatistics& ps = *q.add_priorities();
    ps.set_priority(static_cast<v1::Priority>(p));
    *ps.mutable_depth() = CountOf(depth_row.cells[p - 1]);
    *ps.mutable_decided() = CountOf(decided_row.cells[p - 1]);
    *ps.mutable_sla_breaches() = CountOf(breach_row.cells[p - 1]);
    *ps.mutable_wait() = PercentilesOf(figures[p].wait, d, small);
    *ps.mutable_time_to_decision() = PercentilesOf(figures[p].decision, d, small);
  }
}

}  // namespace

absl::StatusOr<v1::GetQueueStatisticsResponse> Statistics::Queues(
    Disclosure disclosure, const v1::GetQueueStatisticsRequest& request) const {
  FieldViolations v;
  absl::Duration window = kDefaultWindow;
  if (request.has_window()) {
    const int64_t seconds = request.window().seconds();  // checked before any arithmetic
    if (seconds < 3600 || seconds > absl::ToInt64Seconds(kMaxWindow)) {
      v.Add("window", "must be between 1h and 366 days (default 7 days)");
    } else {
      window = absl::Seconds(seconds);
    }
  }
  const std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  for (int i = 0; i < request.queues_size(); ++i) {
    if (!policy->HasQueue(request.queues(i)) && !store_->queue().HasQueue(request.queues(i))) {
      v.Add(absl::StrCat("queues[", i, "]"), "no such queue");
    }
  }
  if (!v.empty()) return v.ToStatus();
  const absl::Time now = clock_->Now();
  const Window hours{UtcHourNumber(now - window) + 1, UtcHourNumber(now)};
  std::vector<std::string> wanted(request.queues().begin(), request.queues().end());
  std::vector<storage::QueueCounts> counts =
      store_->queue().Counts(wanted.empty() ? policy->queues() : wanted, absl::ToUnixMicros(now));
  storage::CounterReader reader(store_->engine());
  v1::GetQueueStatisticsResponse response;
  for (const storage::QueueCounts& c : counts) {
    if (!wanted.empty() && std::find(wanted.begin(), wanted.end(), c.queue) == wanted.end()) {
      continue;
    }
    std::array<Figures, 5> figures;  // [1] IMMEDIATE .. [4] ROUTINE
    for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
      if (absl::Status s =
              ReadFigures(reader, c.queue, static_cast<v1::Priority>(p), hours, figures[p]);
          !s.ok()) {
        return s;
      }
    }
    Fill(c, figures, disclosure, small_counts_, *response.add_queues());
  }
  return response;
}

}  // namespace safeguarding::triage
