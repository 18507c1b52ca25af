#include "storage/counter_reader.h"

#include <memory>
#include <optional>
#include <string>

#include "rocksdb/db.h"
#include "storage/counter_cells.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {

CounterReader::CounterReader(const Engine& engine)
    : engine_(engine), snapshot_(engine.db()->GetSnapshot()) {}

CounterReader::~CounterReader() { engine_.db()->ReleaseSnapshot(snapshot_); }

absl::Status CounterReader::Scan(
    uint8_t series, const std::vector<GroupPart>& group, int32_t first, int32_t last,
    absl::FunctionRef<void(int32_t time, const std::vector<uint64_t>& cells)> each) const {
  const std::optional<std::string> start = CounterKey(series, group, first);
  if (!start || first > last) return absl::OkStatus();  // no such key can exist
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  options.prefix_same_as_start = true;  // one group: the hashed memtable's bucket
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kStatistics)));
  const size_t prefix = start->size() - 4;
  std::vector<uint64_t> cells;  // one buffer for every key of the scan
  for (it->Seek(*start); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() != start->size() ||
        rocksdb::Slice(key.data(), prefix) != rocksdb::Slice(start->data(), prefix)) {
      break;  // the group's keys end: same prefix and length, then only the day differs
    }
    const int32_t day = CounterKeyDay(absl::string_view(key.data(), key.size()));
    if (day > last) break;
    if (DecodeCounterCellsInto(absl::string_view(it->value().data(), it->value().size()), cells)) {
      each(day, cells);
    }
  }
  return FromRocksDb(it->status(), "read statistics");
}

absl::Status CounterReader::ScanAll(
    absl::FunctionRef<void(absl::string_view key,
                           const std::optional<std::vector<uint64_t>>& cells)>
        each) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  options.total_order_seek = true;  // across groups (counter_keys.h)
  options.fill_cache = false;       // a full scan: keep the cache for the queries
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kStatistics)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    each(absl::string_view(it->key().data(), it->key().size()),
         DecodeCounterCells(absl::string_view(it->value().data(), it->value().size())));
  }
  return FromRocksDb(it->status(), "read statistics");
}

}  // namespace safeguarding::storage
