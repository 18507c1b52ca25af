// Counter cells for statistics: each value of the counters family is an array of uint64
// counts (e.g. the 24 hours of one UTC day for one group, or the buckets of one hour's
// distribution), kept by a RocksDB merge operator so that adding to counts is a blind write
// in a change's batch: no read, no lock, and it commits or not with the change.
//
// Formats (little-endian counts):
//   value:    0x01 | count[0] u64 | count[1] u64 | ...        (as many as the largest index)
//   operand:  0x02 | (index u16 BE | delta u64) ...           (one or more additions)
// A merge adds every operand's deltas into the array, growing it as needed. The counters
// are derived data (a recount from the reports rebuilds them), so a malformed value or
// operand is skipped rather than failing the merge: a failed merge would stop RocksDB's
// compactions and writes for every family, reports included.
#ifndef SAFEGUARDING_STORAGE_COUNTER_CELLS_H_
#define SAFEGUARDING_STORAGE_COUNTER_CELLS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "rocksdb/merge_operator.h"

namespace safeguarding::storage {

// The largest index a cell array may have, plus one.
inline constexpr size_t kMaxCounterCells = 4096;

// The merge operator of the counters family.
std::shared_ptr<rocksdb::MergeOperator> NewCounterMergeOperator();

// An operand adding `deltas` (index, delta); indices >= kMaxCounterCells are dropped.
std::string CounterOperand(absl::Span<const std::pair<uint16_t, uint64_t>> deltas);

// The counts of a stored value (after merging), or nullopt if it is not a value.
std::optional<std::vector<uint64_t>> DecodeCounterCells(absl::string_view value);
// The same into `cells` (reusing its memory); false, and `cells` empty, if not a value.
bool DecodeCounterCellsInto(absl::string_view value, std::vector<uint64_t>& cells);

// A value holding `counts`.
std::string EncodeCounterCells(const std::vector<uint64_t>& counts);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_COUNTER_CELLS_H_
