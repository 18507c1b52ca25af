// CounterReader: reads the statistics family (counter_keys.h, counter_cells.h) on one
// snapshot, so that every group a query reads is counted at the same instant.
//
// Thread-compatible; the engine must outlive it.
#ifndef SAFEGUARDING_STORAGE_COUNTER_READER_H_
#define SAFEGUARDING_STORAGE_COUNTER_READER_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/counter_keys.h"
#include "storage/engine.h"

namespace rocksdb {
class Snapshot;
}  // namespace rocksdb

namespace safeguarding::storage {

class CounterReader {
 public:
  explicit CounterReader(const Engine& engine);
  ~CounterReader();
  CounterReader(const CounterReader&) = delete;
  CounterReader& operator=(const CounterReader&) = delete;

  // Calls `each(time, cells)` for every key of (series, group) whose time (the key's day,
  // or hour for series keyed by hour) is in [first, last], in time order, in one scan.
  // UNAVAILABLE on a read fault. A malformed value is skipped (counters are derived data).
  [[nodiscard]] absl::Status Scan(
      uint8_t series, const std::vector<GroupPart>& group, int32_t first, int32_t last,
      absl::FunctionRef<void(int32_t time, const std::vector<uint64_t>& cells)> each) const;

  // Every key of the family in key order (a recount), with its cells; nullopt for a value
  // that does not decode.
  [[nodiscard]] absl::Status ScanAll(
      absl::FunctionRef<void(absl::string_view key,
                             const std::optional<std::vector<uint64_t>>& cells)>
          each) const;

  const rocksdb::Snapshot* snapshot() const { return snapshot_; }

 private:
  const Engine& engine_;
  const rocksdb::Snapshot* snapshot_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_COUNTER_READER_H_
