// Mutation: the writes of one logical change (a new report with its event, queue entry and
// idempotency key; later a claim, a decision, an audit entry), recorded so the committer can
// append many of them into one WriteBatch and make them durable with a single fsync.
//
// A mutation is applied whole or not at all: all of its writes land in the same batch.
// Thread-compatible; owned by one caller until handed to the committer.
#ifndef SAFEGUARDING_STORAGE_MUTATION_H_
#define SAFEGUARDING_STORAGE_MUTATION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/call_liveness.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/cell_counts.h"
#include "storage/column_families.h"

namespace safeguarding::storage {

class Mutation {
 public:
  enum class Op { kPut, kMerge, kDelete };
  struct Write {
    Op op;
    ColumnFamily family;
    std::string key;
    std::string value;
  };

  void Put(ColumnFamily family, std::string key, std::string value) {
    writes_.push_back({Op::kPut, family, std::move(key), std::move(value)});
  }
  void Merge(ColumnFamily family, std::string key, std::string value) {
    writes_.push_back({Op::kMerge, family, std::move(key), std::move(value)});
  }
  void Delete(ColumnFamily family, std::string key) {
    writes_.push_back({Op::kDelete, family, std::move(key), {}});
  }

  // Adds `delta` to cell `index` of the counters value at `key` (storage/counter_cells.h),
  // in the same batch. The committer adds up the counts of all the changes of a batch into
  // one merge operand per key, so many changes touching one cell cost one write.
  void Count(absl::string_view key, uint16_t index, uint64_t delta) {
    counts_.Add(key, index, delta);
  }
  // Adds all of `counts` (a report's cells, triage/volume_cells.h).
  void Count(CellCounts counts) {
    if (counts_.empty()) {
      counts_ = std::move(counts);
    } else {
      counts_.Append(counts);
    }
  }

  // Appends an entry to the audit trail in the same batch. The committer stamps its time,
  // sequence and chain hashes; the caller fills who, what, which report and the result.
  void Audit(::safeguarding::triage::v1::AuditEntry entry) { audits_.push_back(std::move(entry)); }

  // Who waits for this change: when nobody does any more (the call was cancelled or its
  // deadline passed) as the committer takes it, the committer answers CANCELLED and writes
  // nothing of it. Unset: always written (internal work, audit-only records).
  void SetWanted(std::function<bool(absl::Time now)> wanted) { wanted_ = std::move(wanted); }
  void SetWanted(std::shared_ptr<const common::CallLiveness> liveness) {
    if (liveness == nullptr) return;
    wanted_ = [liveness = std::move(liveness)](absl::Time now) { return liveness->Wanted(now); };
  }
  bool Wanted(absl::Time now) const { return !wanted_ || wanted_(now); }

  const std::vector<Write>& writes() const { return writes_; }
  const CellCounts& counts() const { return counts_; }
  const std::vector<::safeguarding::triage::v1::AuditEntry>& audits() const { return audits_; }
  // For the committer, which numbers, chains and stores them in place.
  std::vector<::safeguarding::triage::v1::AuditEntry>& mutable_audits() { return audits_; }
  bool empty() const { return writes_.empty() && counts_.empty() && audits_.empty(); }

 private:
  std::vector<Write> writes_;
  CellCounts counts_;
  std::vector<::safeguarding::triage::v1::AuditEntry> audits_;
  std::function<bool(absl::Time)> wanted_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_MUTATION_H_
