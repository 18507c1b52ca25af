// Engine: the one object that owns the database. It opens (creating on first start) the
// RocksDB database of a data directory under its lock, with the column families of
// column_families.h and the options of each, checks the schema version, and owns the
// committer through which every change is written. The parts of the store (report_records.h,
// audit_trail.h, data_keys.h, queue_index.h) hold a reference to it, own their keys and
// build their writes into the Mutation of a change; none of them reaches into another's
// keys, and none owns the database.
//
// Thread-safe once started: handles and the database are immutable; writes go through the
// committer (committer.h).
#ifndef SAFEGUARDING_STORAGE_ENGINE_H_
#define SAFEGUARDING_STORAGE_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/data_dir.h"
#include "storage/column_families.h"
#include "storage/committer.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Env;
}  // namespace rocksdb

namespace safeguarding::storage {

using common::DataDirError;
using common::DataDirLock;

// Version of the on-disk layout, kept in the meta family. Opening a store written by a
// newer version fails rather than misreading it; an older one is upgraded at open.
//   1  the first release
//   2  the statistics family (builds of version 1 refuse the directory: see kStatistics)
//   3  single-dimension counters only for the reporter type (counter_keys.h): the upgrade
//      deletes the others in the same synced batch that records the version
inline constexpr uint32_t kSchemaVersion = 3;

// The options the store opens `family` with (merge operator, filters, memtable), for tools
// and tests that open the database directly: a family opened with other options could
// misread it or, for statistics, fail to replay its WAL. Such an opener must also set
// DBOptions::allow_concurrent_memtable_write = false (the statistics memtable needs it).
rocksdb::ColumnFamilyOptions StoreFamilyOptions(ColumnFamily family);

// The memory RocksDB may hold whatever the size of the store (the server's
// --block_cache_mb and --memtable_mb). The rest of the server's memory is gRPC's, the
// queue index (one entry per waiting report) and the requests in flight.
struct MemoryBudget {
  // One LRU cache for every family's data, index and filter blocks (index and filter
  // blocks are charged to it too, so a large store's indexes do not grow outside it).
  size_t block_cache_bytes = size_t{256} << 20;
  // All families' memtables together (RocksDB's db_write_buffer_size: past it the largest
  // is flushed); one family's memtable is at most 64 MB or this, whichever is smaller.
  size_t memtable_bytes = size_t{256} << 20;
};

struct EngineOptions {
  // Directory of the database; created if missing.
  std::string path;
  // RocksDB environment; nullptr means the default. Tests pass one that injects faults.
  rocksdb::Env* env = nullptr;
  MemoryBudget memory;
};

class Engine {
 public:
  // FAILED_PRECONDITION naming the directory when it is locked by another process, cannot be
  // created or read, or holds a newer schema.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Open(const EngineOptions& options);

  // Stops the committer (committing and acknowledging what is pending), then closes the
  // database and releases the lock.
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the committer once the audit trail knows where its chain continues (see
  // Committer). Called once, before any write.
  void StartCommitter(CommitterOptions options, AuditHead audit_head, std::string chain_key);
  Committer& committer() const { return *committer_; }
  // Commits and acknowledges what is pending and stops the committer. The owner of the
  // parts calls it before destroying them, since callbacks may still refer to them.
  void StopCommitter() { committer_.reset(); }

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* handle(ColumnFamily family) const {
    return handles_[static_cast<int>(family)];
  }
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles() const { return handles_; }
  const std::string& path() const { return path_; }

  // Flushes memtables to SST files (so data is in table files, not only the WAL).
  [[nodiscard]] absl::Status Flush();
  // True if any report, event, queue entry or request record exists.
  [[nodiscard]] absl::StatusOr<bool> HoldsData() const;

 private:
  Engine(std::string path, DataDirLock lock, std::unique_ptr<rocksdb::DB> db,
         std::vector<rocksdb::ColumnFamilyHandle*> handles);

  const std::string path_;
  DataDirLock lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by ColumnFamily
  std::unique_ptr<Committer> committer_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_ENGINE_H_
