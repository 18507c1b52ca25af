#include "triage/recount.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/container/btree_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "storage/counter_keys.h"
#include "storage/counter_reader.h"
#include "triage/audit.h"
#include "triage/statistics_groups.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

namespace safeguarding::triage {
namespace {

// Counter key -> cells, in key order (std::string orders bytes as RocksDB's comparator).
using Cells = absl::btree_map<std::string, std::vector<uint64_t>>;

// A value as stored, or its C escapes when it is not printable ASCII (a key written
// outside the server may hold anything; the answer's strings must be UTF-8).
std::string Printable(absl::string_view value) {
  const bool plain =
      std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7F; });
  return plain ? std::string(value) : absl::CHexEscape(value);
}

const char* SeriesName(uint8_t series) {
  switch (series) {
    case kReceivedSeries:
      return "received";
    case kDecidedSeries:
      return "decided";
    case kWaitSeries:
      return "wait-to-claim";
    case kDecisionTimeSeries:
      return "time-to-decision";
    case kSlaBreachSeries:
      return "sla-breaches";
    default:
      return "unknown-series";
  }
}

// E.g. "received REPORTER_TYPE=CHILD 2026-03-23", "wait-to-claim QUEUE=x,PRIORITY=HIGH
// 2026-03-23T14Z" (series keyed by hour).
std::string CounterName(absl::string_view key) {
  const std::optional<storage::CounterKeyParts> parts = storage::ParseCounterKey(key);
  if (!parts) return absl::StrCat("unreadable key ", absl::BytesToHexString(key));
  std::vector<std::string> group;
  for (const storage::GroupPart& part : parts->group) {
    const auto dimension = static_cast<v1::Dimension>(part.first);
    group.push_back(
        absl::StrCat(DimensionName(dimension), "=", Printable(ShownValue(dimension, part.second))));
  }
  const bool hourly = parts->series == kWaitSeries || parts->series == kDecisionTimeSeries;
  const int64_t time = parts->day;  // an hour number for the hourly series
  const int64_t day = !hourly ? time : time >= 0 ? time / 24 : -((23 - time) / 24);
  std::string when = absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + day);
  if (hourly) absl::StrAppend(&when, absl::StrFormat("T%02dZ", time - day * 24));
  return absl::StrCat(SeriesName(parts->series), " ",
                      group.empty() ? std::string("all") : absl::StrJoin(group, ","), " ", when);
}

// Compares counters key by key and lists up to `max_listed` differing cells.
class Comparison {
 public:
  Comparison(const Cells& recounted, size_t max_listed, v1::RecountStatisticsResponse& out)
      : next_(recounted.begin()), end_(recounted.end()), max_listed_(max_listed), out_(out) {}

  void Stored(absl::string_view key, const std::optional<std::vector<uint64_t>>& cells) {
    for (; next_ != end_ && absl::string_view(next_->first) < key; ++next_) {
      Differ(next_->first, {}, next_->second);
    }
    static const std::vector<uint64_t> kNone;
    const bool recounted = next_ != end_ && absl::string_view(next_->first) == key;
    const std::vector<uint64_t>& expected = recounted ? next_->second : kNone;
    if (recounted) ++next_;
    if (!cells) {
      out_.set_counters_compared(out_.counters_compared() + 1);
      Note(absl::StrCat(CounterName(key), " (unreadable value)"), 0, 0,
           expected.empty() ? 0 : expected[0]);
      return;
    }
    Differ(key, *cells, expected);
  }

  void Rest() {
    for (; next_ != end_; ++next_) Differ(next_->first, {}, next_->second);
  }

 private:
  void Differ(absl::string_view key, const std::vector<uint64_t>& stored,
              const std::vector<uint64_t>& recounted) {
    out_.set_counters_compared(out_.counters_compared() + 1);
    std::string name;
    for (size_t i = 0; i < std::max(stored.size(), recounted.size()); ++i) {
      const uint64_t s = i < stored.size() ? stored[i] : 0;
      const uint64_t r = i < recounted.size() ? recounted[i] : 0;
      if (s == r) continue;
      if (name.empty()) name = CounterName(key);
      Note(name, static_cast<uint32_t>(i), s, r);
    }
  }

  void Note(const std::string& counter, uint32_t cell, uint64_t stored, uint64_t recounted) {
    out_.set_differences(out_.differences() + 1);
    if (static_cast<size_t>(out_.listed_size()) >= max_listed_) return;
    v1::CounterDifference* d = out_.add_listed();
    d->set_counter(counter);
    d->set_cell(cell);
    d->set_stored(stored);
    d->set_recounted(recounted);
  }

  Cells::const_iterator next_;
  const Cells::const_iterator end_;
  const size_t max_listed_;
  v1::RecountStatisticsResponse& out_;
};

}  // namespace

namespace {

// Which counters a pass recounts: those whose key hashes to `index` of `count`.
struct Pass {
  size_t index = 0;
  size_t count = 1;
  bool Holds(absl::string_view key) const {
    return count == 1 || absl::HashOf(key) % count == index;
  }
};

// The reports' cells of one pass. False if `stopped` said so.
[[nodiscard]] absl::StatusOr<bool> RecountPass(const storage::ReportRecords& reports,
                                               const storage::CounterReader& reader,
                                               const TriagePolicy& policy, const Pass& pass,
                                               const std::function<bool()>& stopped,
                                               uint64_t& scanned, Cells& cells) {
  bool go_on = true;
  storage::CellCounts counts;
  absl::Status read = reports.ScanAll(
      reader.snapshot(), [&](const v1::Report& submitted, const v1::Report& current) {
        if (scanned++ % 1024 == 0 && stopped()) return go_on = false;  // from the first
        const std::string region = policy.StatisticsRegion(submitted.submission().region());
        counts = ReceivedCells(submitted, region);
        if (current.state() == v1::REPORT_STATE_CLOSED && current.has_closed_time()) {
          counts.Append(DecidedCells(current, region));
        }
        for (const storage::CellCounts::Cell c : counts) {
          if (!pass.Holds(c.key)) continue;
          auto at = cells.find(c.key);  // the key copied only when new
          if (at == cells.end()) at = cells.try_emplace(std::string(c.key)).first;
          std::vector<uint64_t>& row = at->second;
          if (row.size() <= c.index) row.resize(c.index + 1);
          row[c.index] += c.delta;
        }
        return true;
      });
  if (!read.ok()) return read;
  return go_on;
}

}  // namespace

absl::StatusOr<v1::RecountStatisticsResponse> Recount::Run(
    const v1::RecountStatisticsRequest& request, const std::function<bool()>& stopped) const {
  if (request.max_differences() < 0 || request.max_differences() > kMaxListedDifferences) {
    FieldViolations v;
    v.Add("max_differences", absl::StrCat("must be 0 (the default, ", kDefaultListedDifferences,
                                          ") to ", kMaxListedDifferences));
    return v.ToStatus();
  }
  const size_t max_listed =
      request.max_differences() == 0 ? kDefaultListedDifferences : request.max_differences();
  const std::shared_ptr<const TriagePolicy> policy = policy_->Get();
  const storage::CounterReader reader(store_->engine());  // one snapshot for every read
  // Enough passes that each holds about counters_per_pass_ counters in memory.
  uint64_t stored = 0;
  absl::Status read = reader.ScanAll(
      [&](absl::string_view, const std::optional<std::vector<uint64_t>>&) { ++stored; });
  if (!read.ok()) return read;
  Pass pass{.count = static_cast<size_t>(stored / counters_per_pass_ + 1)};
  v1::RecountStatisticsResponse out;
  for (; pass.index < pass.count; ++pass.index) {
    Cells recounted;
    uint64_t scanned = 0;
    absl::StatusOr<bool> counted =
        RecountPass(store_->reports(), reader, *policy, pass, stopped, scanned, recounted);
    if (!counted.ok()) return counted.status();
    if (!*counted) return absl::CancelledError("recount stopped: the call ended");
    out.set_reports_scanned(scanned);
    Comparison comparison(recounted, max_listed, out);
    read =
        reader.ScanAll([&](absl::string_view key, const std::optional<std::vector<uint64_t>>& c) {
          if (pass.Holds(key)) comparison.Stored(key, c);
        });
    if (!read.ok()) return read;
    comparison.Rest();
  }
  return out;
}

void Recount::RecountStatistics(const Caller& caller, const v1::RecountStatisticsRequest& request,
                                const std::function<bool()>& stopped,
                                Done<v1::RecountStatisticsResponse> done) {
  absl::StatusOr<v1::RecountStatisticsResponse> result =
      absl::ResourceExhaustedError("a recount is already running; try again when it ends");
  if (!running_.exchange(true)) {
    absl::Cleanup ended = [this] { running_ = false; };
    result = Run(request, stopped);
  }
  FinishAudited(store_->audit(), caller, "", std::move(result), std::move(done));
}

}  // namespace safeguarding::triage
