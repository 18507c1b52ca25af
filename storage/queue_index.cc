#include "storage/queue_index.h"

#include <memory>

#include "rocksdb/db.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {

void QueueIndex::Add(Mutation& m, const std::string& queue, uint8_t tier, int64_t due_micros,
                     const ReportId& id) {
  m.Put(ColumnFamily::kQueue, QueueKey(queue, tier, due_micros, id), "");
}

absl::Status QueueIndex::Scan(absl::FunctionRef<void(const QueueKeyParts&)> visit) const {
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kQueue)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<QueueKeyParts> parts =
        ParseQueueKey(absl::string_view(it->key().data(), it->key().size()));
    if (!parts) return absl::DataLossError("malformed queue index key");
    visit(*parts);
  }
  return FromRocksDb(it->status(), "scan queue index");
}

}  // namespace safeguarding::storage
