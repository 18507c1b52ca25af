#include "storage/queue_index.h"

#include <algorithm>
#include <iterator>
#include <limits>
#include <memory>
#include <vector>

#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

// A claims record: a Report holding only the place (triage.queue, .priority as the tier,
// .due_time) and the claim.
std::string EncodeClaim(const LiveClaim& claim) {
  v1::Report record;
  record.mutable_triage()->set_queue(claim.entry.queue);
  record.mutable_triage()->set_priority(static_cast<v1::Priority>(claim.entry.tier));
  *record.mutable_triage()->mutable_due_time() =
      TimeUtil::MicrosecondsToTimestamp(claim.entry.due_micros);
  record.mutable_claim()->set_claim_id(claim.claim_id);
  record.mutable_claim()->set_holder(claim.holder);
  *record.mutable_claim()->mutable_expire_time() =
      TimeUtil::MicrosecondsToTimestamp(claim.expire_micros);
  return record.SerializeAsString();
}

std::optional<LiveClaim> DecodeClaim(absl::string_view key, absl::string_view value) {
  std::optional<ReportId> id = ReportId::FromBytes(key);
  v1::Report record;
  if (!id || !record.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
    return std::nullopt;
  }
  LiveClaim claim;
  claim.entry.queue = record.triage().queue();
  claim.entry.tier = static_cast<uint8_t>(record.triage().priority());
  claim.entry.due_micros = TimeUtil::TimestampToMicroseconds(record.triage().due_time());
  claim.entry.id = *id;
  claim.claim_id = record.claim().claim_id();
  claim.holder = record.claim().holder();
  claim.expire_micros = TimeUtil::TimestampToMicroseconds(record.claim().expire_time());
  return claim;
}

// Sorts `v` that is expected to be a few sorted runs one after another: merges them in
// place (linear per run), or sorts outright if there are many.
template <typename T>
void SortRuns(std::vector<T>& v) {
  constexpr int kMaxRuns = 8;
  std::vector<typename std::vector<T>::iterator> ends;
  for (auto it = v.begin(); it != v.end() && ends.size() <= kMaxRuns;) {
    it = std::is_sorted_until(it, v.end());
    ends.push_back(it);
  }
  if (ends.size() > kMaxRuns) {
    std::sort(v.begin(), v.end());
    return;
  }
  for (size_t i = 1; i < ends.size(); ++i) std::inplace_merge(v.begin(), ends[i - 1], ends[i]);
}

}  // namespace

// In bulk: the entries are gathered per queue, sorted once into claim order and the sets
// built from sorted ranges (each insert at the end), instead of a million inserts at random
// places; a million waiting reports load in a fraction of the time. (No map is sized from
// RocksDB's key estimate: after many deletes it can be far above what is there.)
absl::Status QueueIndex::Load() {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_map<std::string, std::vector<QueueEntry>> gathered;
  size_t keys = 0;
  absl::Status scanned = Scan([&](const QueueKeyParts& parts) {
    QueueEntry entry{std::string(parts.queue), parts.tier, parts.due_micros, parts.id};
    waiting_by_id_.insert_or_assign(entry.id, entry);
    gathered[entry.queue].push_back(std::move(entry));
    ++keys;
  });
  if (!scanned.ok()) return scanned;
  for (auto& [queue, entries] : gathered) {
    if (keys != waiting_by_id_.size()) {  // a report with two keys: the last one scanned counts
      entries.erase(std::remove_if(entries.begin(), entries.end(),
                                   [this](const QueueEntry& e) ABSL_NO_THREAD_SAFETY_ANALYSIS {
                                     return !(waiting_by_id_.at(e.id) == e);
                                   }),
                    entries.end());
    }
    // A queue left empty by that is not a queue (as inserting one by one left none).
    if (!entries.empty()) BuildWaitingLocked(waiting_[queue], std::move(entries));
  }
  ++version_;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kClaims)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<LiveClaim> claim =
        DecodeClaim(absl::string_view(it->key().data(), it->key().size()),
                    absl::string_view(it->value().data(), it->value().size()));
    if (!claim) return absl::DataLossError("malformed claim record");
    by_expiry_.emplace(claim->expire_micros, claim->entry.id);
    ++claimed_by_queue_[claim->entry.queue];
    claims_.emplace(claim->entry.id, *std::move(claim));
  }
  return FromRocksDb(it->status(), "load claims");
}

void QueueIndex::Add(Mutation& m, const std::string& queue, uint8_t tier, int64_t due_micros,
                     const ReportId& id) {
  m.Put(ColumnFamily::kQueue, QueueKey(queue, tier, due_micros, id), "");
}

void QueueIndex::Add(Mutation& m, const QueueEntry& entry) {
  Add(m, entry.queue, entry.tier, entry.due_micros, entry.id);
}

void QueueIndex::Remove(Mutation& m, const QueueEntry& entry) {
  m.Delete(ColumnFamily::kQueue, QueueKey(entry.queue, entry.tier, entry.due_micros, entry.id));
}

void QueueIndex::PutClaim(Mutation& m, const LiveClaim& claim) {
  m.Put(ColumnFamily::kClaims, std::string(claim.entry.id.bytes()), EncodeClaim(claim));
}

void QueueIndex::DeleteClaim(Mutation& m, const ReportId& id) {
  m.Delete(ColumnFamily::kClaims, std::string(id.bytes()));
}

void QueueIndex::Acquire(const ReportId& id, absl::AnyInvocable<void() &&> work) {
  {
    absl::MutexLock lock(&mu_);
    auto [it, first] = held_.try_emplace(id);
    if (!first) {
      it->second.push_back(std::move(work));
      return;
    }
  }
  std::move(work)();
}

void QueueIndex::Release(const ReportId& id) {
  absl::AnyInvocable<void() &&> next;
  {
    absl::MutexLock lock(&mu_);
    auto it = held_.find(id);
    if (it == held_.end()) return;
    if (it->second.empty()) {
      held_.erase(it);
      return;
    }
    next = std::move(it->second.front());  // stays held, for the next change
    it->second.pop_front();
  }
  // A change that ends at once (a refusal) releases from inside the one before: run such
  // chains one after the other on this thread, not one inside the other, so a burst of
  // waiting changes cannot exhaust the stack.
  thread_local std::deque<absl::AnyInvocable<void()&&>>* running = nullptr;
  if (running != nullptr) {
    running->push_back(std::move(next));
    return;
  }
  std::deque<absl::AnyInvocable<void() &&>> queue;
  queue.push_back(std::move(next));
  running = &queue;
  while (!queue.empty()) {
    absl::AnyInvocable<void()&&> work = std::move(queue.front());
    queue.pop_front();
    std::move(work)();
  }
  running = nullptr;
}

bool QueueIndex::HasQueue(const std::string& queue) const {
  absl::MutexLock lock(&mu_);
  return waiting_.contains(queue) || claimed_by_queue_.contains(queue);
}

std::optional<QueueEntry> QueueIndex::TakeNext(const std::vector<std::string>& queues) {
  absl::MutexLock lock(&mu_);
  const QueueEntry* best = nullptr;
  auto consider = [&](const Waiting& waiting) {
    for (const QueueEntry& entry : waiting.order) {
      if (held_.contains(entry.id)) continue;  // a change of it is in flight
      if (best == nullptr || entry < *best) best = &entry;
      return;
    }
  };
  if (queues.empty()) {
    for (const auto& [queue, entries] : waiting_) consider(entries);
  }
  for (const std::string& queue : queues) {
    auto q = waiting_.find(queue);
    if (q != waiting_.end()) consider(q->second);
  }
  if (best == nullptr) return std::nullopt;
  QueueEntry taken = *best;
  EraseWaitingLocked(taken.id);
  held_.try_emplace(taken.id);
  return taken;
}

std::vector<LiveClaim> QueueIndex::TakeExpired(int64_t now_micros, size_t max) {
  absl::MutexLock lock(&mu_);
  std::vector<LiveClaim> expired;
  for (const auto& [expire, id] : by_expiry_) {
    if (expire > now_micros || expired.size() >= max) break;
    if (held_.contains(id)) continue;
    held_.try_emplace(id);
    expired.push_back(claims_.at(id));
  }
  return expired;
}

void QueueIndex::ApplyWaiting(const QueueEntry& entry) {
  absl::MutexLock lock(&mu_);
  InsertWaitingLocked(entry);
}

void QueueIndex::ApplyNotWaiting(const ReportId& id) {
  absl::MutexLock lock(&mu_);
  EraseWaitingLocked(id);
}

void QueueIndex::ApplyClaim(const LiveClaim& claim) {
  ++version_;
  absl::MutexLock lock(&mu_);
  EraseClaimLocked(claim.entry.id);
  by_expiry_.emplace(claim.expire_micros, claim.entry.id);
  ++claimed_by_queue_[claim.entry.queue];
  claims_.insert_or_assign(claim.entry.id, claim);
}

void QueueIndex::ApplyUnclaimed(const ReportId& id) {
  absl::MutexLock lock(&mu_);
  EraseClaimLocked(id);
}

std::optional<QueueEntry> QueueIndex::FindWaiting(const ReportId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = waiting_by_id_.find(id);
  if (it == waiting_by_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<LiveClaim> QueueIndex::FindClaim(const ReportId& id) const {
  absl::MutexLock lock(&mu_);
  auto it = claims_.find(id);
  if (it == claims_.end()) return std::nullopt;
  return it->second;
}

std::optional<ReportId> QueueIndex::Waiting::Oldest() const {
  std::optional<ReportId> oldest;
  for (const absl::btree_set<ReportId>& ids : by_arrival) {
    if (!ids.empty() && (!oldest || *ids.begin() < *oldest)) oldest = *ids.begin();
  }
  return oldest;
}

namespace {

// Runs `visit` on each report of `order` (one queue's, in claim order) due before
// `now_micros`. In claim order the IMMEDIATE reports come first, each part by due time, so
// only the reports already due are visited.
template <typename Order, typename Visit>
void ForEachPastDue(const Order& order, const std::string& queue, int64_t now_micros, Visit visit) {
  const QueueEntry first_not_immediate{queue, QueueEntry::kImmediateTier + 1,
                                       std::numeric_limits<int64_t>::min(), ReportId()};
  const auto rest = order.lower_bound(first_not_immediate);
  for (auto it = order.begin(); it != rest && it->due_micros < now_micros; ++it) visit(*it);
  for (auto it = rest; it != order.end() && it->due_micros < now_micros; ++it) visit(*it);
}

// The slot of each queue in `out`, added (by `make`) on first use, those in `also` first.
template <typename Counts>
class QueueSlots {
 public:
  QueueSlots(std::vector<Counts>& out, const std::vector<std::string>& also) : out_(out) {
    for (const std::string& queue : also) (*this)(queue);
  }
  Counts& operator()(const std::string& queue) {
    auto [it, added] = at_.try_emplace(queue, out_.size());
    if (added) out_.push_back(Counts{.queue = queue});
    return out_[it->second];
  }

 private:
  std::vector<Counts>& out_;
  absl::flat_hash_map<std::string, size_t> at_;
};

}  // namespace

std::vector<QueueCounts> QueueIndex::Counts(const std::vector<std::string>& also,
                                            int64_t now_micros) const {
  absl::MutexLock lock(&mu_);
  std::vector<QueueCounts> out;
  QueueSlots<QueueCounts> slot(out, also);
  for (const auto& [queue, waiting] : waiting_) {
    QueueCounts& counts = slot(queue);
    counts.waiting = waiting.order.size();
    counts.waiting_by_tier = waiting.by_tier;
    counts.oldest_waiting = waiting.Oldest();
    ForEachPastDue(waiting.order, queue, now_micros, [&](const QueueEntry&) { ++counts.past_due; });
  }
  for (const auto& [queue, claimed] : claimed_by_queue_) slot(queue).claimed = claimed;
  return out;
}

std::vector<QueueTierCounts> QueueIndex::CountsByTier(const std::vector<std::string>& also,
                                                      int64_t now_micros) const {
  absl::MutexLock lock(&mu_);
  std::vector<QueueTierCounts> out;
  QueueSlots<QueueTierCounts> slot(out, also);
  for (const auto& [queue, waiting] : waiting_) {
    QueueTierCounts& counts = slot(queue);
    for (size_t t = 0; t < counts.tiers.size(); ++t) {
      const absl::btree_set<ReportId>& ids = waiting.by_arrival[t];
      counts.tiers[t].waiting = ids.size();
      if (!ids.empty()) counts.tiers[t].oldest_waiting = *ids.begin();
    }
    ForEachPastDue(waiting.order, queue, now_micros, [&](const QueueEntry& entry) {
      QueueTierCounts::Tier& tier = counts.tiers[ArrivalSlot(entry.tier)];
      ++tier.past_due;
      if (!tier.earliest_past_due_micros || entry.due_micros < *tier.earliest_past_due_micros) {
        tier.earliest_past_due_micros = entry.due_micros;
      }
    });
  }
  for (const auto& [id, claim] : claims_) {
    ++slot(claim.entry.queue).tiers[ArrivalSlot(claim.entry.tier)].claimed;
  }
  return out;
}

QueueIndex::Contents QueueIndex::Snapshot() const {
  absl::MutexLock lock(&mu_);
  Contents contents;
  std::vector<std::string> names;
  for (const auto& [queue, waiting] : waiting_) names.push_back(queue);
  std::sort(names.begin(), names.end());
  for (const std::string& queue : names) {
    for (const QueueEntry& entry : waiting_.at(queue).order) contents.waiting.push_back(entry);
  }
  for (const auto& [id, claim] : claims_) contents.claims.push_back(claim);
  std::sort(contents.claims.begin(), contents.claims.end(),
            [](const LiveClaim& a, const LiveClaim& b) { return a.entry.id < b.entry.id; });
  return contents;
}

absl::Status QueueIndex::Scan(absl::FunctionRef<void(const QueueKeyParts&)> visit) const {
  // Read once, front to back: read ahead, and keep the blocks out of the cache that the
  // reports and workflow records need.
  rocksdb::ReadOptions options;
  options.fill_cache = false;
  options.readahead_size = size_t{2} << 20;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kQueue)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<QueueKeyParts> parts =
        ParseQueueKey(absl::string_view(it->key().data(), it->key().size()));
    if (!parts) return absl::DataLossError("malformed queue index key");
    visit(*parts);
  }
  return FromRocksDb(it->status(), "scan queue index");
}

void QueueIndex::BuildWaitingLocked(Waiting& waiting, std::vector<QueueEntry> entries) {
  SortRuns(entries);  // key order holds one run in claim order per priority
  std::array<std::vector<ReportId>, 5> ids;
  for (const QueueEntry& entry : entries) {
    ids[ArrivalSlot(entry.tier)].push_back(entry.id);
    if (entry.tier < waiting.by_tier.size()) ++waiting.by_tier[entry.tier];
  }
  waiting.order.insert(std::make_move_iterator(entries.begin()),
                       std::make_move_iterator(entries.end()));
  for (size_t t = 0; t < ids.size(); ++t) {
    SortRuns(ids[t]);  // arrival order follows the due time within a priority, mostly
    waiting.by_arrival[t].insert(ids[t].begin(), ids[t].end());
  }
}

void QueueIndex::InsertWaitingLocked(const QueueEntry& entry) {
  ++version_;
  EraseWaitingLocked(entry.id);
  Waiting& waiting = waiting_[entry.queue];
  waiting.order.insert(entry);
  waiting.by_arrival[ArrivalSlot(entry.tier)].insert(entry.id);
  if (entry.tier < waiting.by_tier.size()) ++waiting.by_tier[entry.tier];
  waiting_by_id_.insert_or_assign(entry.id, entry);
}

void QueueIndex::EraseWaitingLocked(const ReportId& id) {
  ++version_;
  auto it = waiting_by_id_.find(id);
  if (it == waiting_by_id_.end()) return;
  const QueueEntry& entry = it->second;
  auto q = waiting_.find(entry.queue);
  if (q != waiting_.end()) {
    Waiting& waiting = q->second;
    waiting.order.erase(entry);
    waiting.by_arrival[ArrivalSlot(entry.tier)].erase(entry.id);
    if (entry.tier < waiting.by_tier.size()) --waiting.by_tier[entry.tier];
    if (waiting.order.empty()) waiting_.erase(q);
  }
  waiting_by_id_.erase(it);
}

void QueueIndex::EraseClaimLocked(const ReportId& id) {
  ++version_;
  auto it = claims_.find(id);
  if (it == claims_.end()) return;
  by_expiry_.erase({it->second.expire_micros, id});
  auto counted = claimed_by_queue_.find(it->second.entry.queue);
  if (counted != claimed_by_queue_.end() && --counted->second == 0) {
    claimed_by_queue_.erase(counted);
  }
  claims_.erase(it);
}

}  // namespace safeguarding::storage
