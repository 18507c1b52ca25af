// QueueIndex: the part of the store that owns the queue family (every waiting report:
// queue, priority, due time, report id -> ""; key layout in key_encoding.h) and the claims
// family (report id -> its live claim), and keeps both in memory so that claims are
// answered without reading the disk: per queue the waiting reports in claim order, and
// every live claim with its expiry. Claim order is QueueEntry's (IMMEDIATE, then due
// time, then arrival), kept in memory; the family's byte order is by priority first.
//
// One truth: the memory is loaded from the two families at open and changed only by the
// Apply* calls, which callers make once a change that wrote the same keys is durable (or,
// for TakeNext, undo if it fails). A report with a change in flight is held: Acquire runs
// the next change of a report only after Release of the one before, and TakeNext and
// TakeExpired skip held reports, so no two changes of one report ever race.
//
// Thread-safe.
#ifndef SAFEGUARDING_STORAGE_QUEUE_INDEX_H_
#define SAFEGUARDING_STORAGE_QUEUE_INDEX_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "storage/engine.h"
#include "storage/key_encoding.h"
#include "storage/mutation.h"
#include "storage/report_id.h"

namespace safeguarding::storage {

// A waiting report's place: its queue, then claim order within it.
struct QueueEntry {
  std::string queue;
  uint8_t tier = 0;  // the priority (1 IMMEDIATE .. 4 ROUTINE), as the queue key stores it
  int64_t due_micros = 0;
  ReportId id;

  // Claim order: IMMEDIATE strictly first; then the earliest due time, whatever the
  // priority (so a long-waiting STANDARD report overtakes a fresh URGENT one once it is
  // due sooner: nothing starves); then arrival (the id begins with the received time).
  friend bool operator<(const QueueEntry& a, const QueueEntry& b) {
    const bool a_immediate = a.tier == kImmediateTier, b_immediate = b.tier == kImmediateTier;
    if (a_immediate != b_immediate) return a_immediate;
    if (a.due_micros != b.due_micros) return a.due_micros < b.due_micros;
    return a.id < b.id;
  }
  static constexpr uint8_t kImmediateTier = 1;
  friend bool operator==(const QueueEntry& a, const QueueEntry& b) {
    return a.queue == b.queue && a.tier == b.tier && a.due_micros == b.due_micros && a.id == b.id;
  }
};

// A live claim: the report's place (to put it back) and the lease.
struct LiveClaim {
  QueueEntry entry;
  std::string claim_id;
  std::string holder;
  int64_t expire_micros = 0;
};

// Per queue, what a dashboard shows: waiting reports per tier, claimed ones, and the
// oldest waiting report's id (its received time) and the earliest due time.
struct QueueCounts {
  std::string queue;
  std::array<uint64_t, 5> waiting_by_tier = {};  // [1] IMMEDIATE .. [4] ROUTINE
  uint64_t waiting = 0;
  uint64_t claimed = 0;
  std::optional<ReportId> oldest_waiting;
  uint64_t past_due = 0;  // waiting reports due before `now`
};

// Per queue and priority, what the metrics show (services/metrics.h).
struct QueueTierCounts {
  struct Tier {
    uint64_t waiting = 0;
    uint64_t claimed = 0;
    uint64_t past_due = 0;                            // waiting reports due before `now`
    std::optional<int64_t> earliest_past_due_micros;  // the due time of the most overdue
    std::optional<ReportId> oldest_waiting;           // its id begins with its received time
  };
  std::string queue;
  // [1] IMMEDIATE .. [4] ROUTINE; [0] holds any other tier a record names.
  std::array<Tier, 5> tiers = {};
};

class QueueIndex {
 public:
  explicit QueueIndex(const Engine& engine) : engine_(engine) {}
  QueueIndex(const QueueIndex&) = delete;
  QueueIndex& operator=(const QueueIndex&) = delete;

  // Loads the memory from the queue and claims families. DATA_LOSS on a malformed record.
  [[nodiscard]] absl::Status Load();

  // The writes of a change, into its mutation.
  static void Add(Mutation& m, const std::string& queue, uint8_t tier, int64_t due_micros,
                  const ReportId& id);
  static void Add(Mutation& m, const QueueEntry& entry);
  static void Remove(Mutation& m, const QueueEntry& entry);
  static void PutClaim(Mutation& m, const LiveClaim& claim);
  static void DeleteClaim(Mutation& m, const ReportId& id);

  // Runs `work` once report `id` has no other change in flight: now, on this thread, or
  // later, on the thread that releases it. The work must end in Release(id).
  void Acquire(const ReportId& id, absl::AnyInvocable<void() &&> work);
  // Ends a change of `id`; runs the next one waiting for it, if any.
  void Release(const ReportId& id);

  // True if reports of `queue` wait or are claimed.
  bool HasQueue(const std::string& queue) const;

  // The most urgent waiting report of `queues` (all queues when empty; all in one claim
  // order) that is not held:
  // removed from the waiting reports and held. The caller puts it back with ApplyWaiting
  // if its claim is not made durable. nullopt when there is none.
  std::optional<QueueEntry> TakeNext(const std::vector<std::string>& queues);
  // Up to `max` claims expired at `now_micros` and not held, now held.
  std::vector<LiveClaim> TakeExpired(int64_t now_micros, size_t max);

  // After a durable change of a report the caller holds:
  void ApplyWaiting(const QueueEntry& entry);
  void ApplyNotWaiting(const ReportId& id);
  void ApplyClaim(const LiveClaim& claim);
  void ApplyUnclaimed(const ReportId& id);

  std::optional<QueueEntry> FindWaiting(const ReportId& id) const;
  std::optional<LiveClaim> FindClaim(const ReportId& id) const;
  // Every queue with waiting or claimed reports, and those in `also` (in that order, once).
  std::vector<QueueCounts> Counts(const std::vector<std::string>& also, int64_t now_micros) const;
  // The same queues, each per priority. Costs a walk over the past-due reports and the
  // live claims, not over every waiting report.
  std::vector<QueueTierCounts> CountsByTier(const std::vector<std::string>& also,
                                            int64_t now_micros) const;
  // Goes up with every change of the index: watchers compare it to see if anything moved.
  uint64_t version() const { return version_.load(); }

  // Everything in memory, in claim order per queue (for checks against a scan).
  struct Contents {
    std::vector<QueueEntry> waiting;
    std::vector<LiveClaim> claims;  // by report id
  };
  Contents Snapshot() const;

  // Visits every entry of the queue family in key order. DATA_LOSS on a malformed key.
  [[nodiscard]] absl::Status Scan(absl::FunctionRef<void(const QueueKeyParts&)> visit) const;

 private:
  void InsertWaitingLocked(const QueueEntry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseWaitingLocked(const ReportId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EraseClaimLocked(const ReportId& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // One queue's waiting reports: in claim order, per priority in arrival order (for the
  // oldest wait; [0] holds any other tier), and counted per priority, so a summary costs
  // no walk over them.
  struct Waiting {
    absl::btree_set<QueueEntry> order;
    std::array<absl::btree_set<ReportId>, 5> by_arrival;
    std::array<uint64_t, 5> by_tier = {};

    // The oldest waiting report of any priority.
    std::optional<ReportId> Oldest() const;
  };
  // Where `tier` is kept in Waiting::by_arrival.
  static size_t ArrivalSlot(uint8_t tier) { return tier < 5 ? tier : 0; }
  // Fills an empty `waiting` with `entries` (one queue's, each report once).
  void BuildWaitingLocked(Waiting& waiting, std::vector<QueueEntry> entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Engine& engine_;
  std::atomic<uint64_t> version_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Waiting> waiting_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, uint64_t> claimed_by_queue_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ReportId, QueueEntry> waiting_by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<ReportId, LiveClaim> claims_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, ReportId>> by_expiry_ ABSL_GUARDED_BY(mu_);
  // Held reports, each with the changes waiting for it.
  absl::flat_hash_map<ReportId, std::deque<absl::AnyInvocable<void() &&>>> held_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_QUEUE_INDEX_H_
