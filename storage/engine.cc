#include "storage/engine.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"
#include "storage/counter_cells.h"
#include "storage/counter_keys.h"
#include "storage/key_encoding.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr char kSchemaVersionKey[] = "schema_version";

// Longer than any request key (a length-prefixed caller scope and a request id of at most
// a few hundred bytes), so the requests family's "prefix" is the whole key.
constexpr size_t kMaxRequestKeyBytes = 4096;
// The largest memtable of one family (RocksDB's default write buffer size).
constexpr size_t kMaxFamilyMemtableBytes = size_t{64} << 20;
// WAL kept before the families holding the oldest unflushed data are flushed: bounds the
// replay at start after a crash (a clean stop flushes everything).
constexpr uint64_t kMaxTotalWalBytes = uint64_t{256} << 20;

// The group part of a statistics key: series, count and parts, without the day
// (counter_keys.h). Parsed rather than cut at a fixed offset, so that the prefix of a prefix
// is itself (which seeking to a group prefix relies on); a key that is not one is its own
// prefix (RocksDB's hashed memtable calls Transform without asking InDomain).
class CounterGroupExtractor : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "safeguarding.CounterGroup.v2"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const size_t end = CounterGroupEnd(absl::string_view(key.data(), key.size()));
    return end == 0 ? key : rocksdb::Slice(key.data(), end);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return CounterGroupEnd(absl::string_view(key.data(), key.size())) != 0;
  }
};
std::shared_ptr<const rocksdb::SliceTransform> CounterGroupTransform() {
  return std::make_shared<CounterGroupExtractor>();
}

// Where a key of the queue family goes, for the memtable's insert hints: its queue and
// tier (key_encoding.h), inside which keys arrive nearly in order (due time, then report id).
// A key too short to be a queue key has no hint (RocksDB asks InDomain first), and is its
// own "prefix" should anything call Transform without asking.
class QueueTierExtractor : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "safeguarding.QueueTier.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return InDomain(key) ? rocksdb::Slice(key.data(), TierEnd(key)) : key;
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return !key.empty() && key.size() >= TierEnd(key);
  }

 private:
  static size_t TierEnd(const rocksdb::Slice& key) {
    return 2 + static_cast<uint8_t>(key[0]);  // length, queue name, tier
  }
};

// A memtable insert keeps where the last one went and, with no hint, searches the skiplist
// from its top again unless the new key lands right beside it. The keys of these families
// arrive nearly in order (report ids and audit keys begin with the time), so an insert
// given the last position as a hint climbs only as far as it strayed: one hint for the
// whole family, or, in the queue, one per queue and tier. Ignored by the hashed memtables
// and by concurrent memtable writes (off: one committer writes).
// No range delete may go to these families: RocksDB 7.8 keeps one table of hints for a
// family's keys and its range deletions, and a DeleteRange there breaks the skiplist
// (facebook/rocksdb#5118, fixed in 2024 by #12558), even when a log holding one is replayed
// at open.
// Mutation has no range delete, and tests/structure/range_deletes.py keeps the one there is
// (the statistics family's schema upgrade, no hints) the only one.
std::shared_ptr<const rocksdb::SliceTransform> InsertHintFor(ColumnFamily family) {
  switch (family) {
    case ColumnFamily::kReports:
    case ColumnFamily::kEvents:
    case ColumnFamily::kWorkflow:
    case ColumnFamily::kClaims:
    case ColumnFamily::kAudit:
    case ColumnFamily::kAuditByReport:
      return std::shared_ptr<const rocksdb::SliceTransform>(rocksdb::NewFixedPrefixTransform(0));
    case ColumnFamily::kQueue:
      return std::make_shared<QueueTierExtractor>();
    default:
      return nullptr;
  }
}

// Options per family; the counters family gets its merge operator (counter_cells.h) here.
rocksdb::ColumnFamilyOptions FamilyOptions(ColumnFamily family,
                                           const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  switch (family) {
    case ColumnFamily::kRequests:
      // Only ever read by whole key (is this request id already answered?), and its keys
      // (clients' request ids, UUIDs) arrive in no order: a memtable hashed by the whole key
      // inserts each in O(1) instead of searching a skiplist of every key since the last
      // flush. A scan of this family would need ReadOptions::total_order_seek.
      options.prefix_extractor.reset(rocksdb::NewCappedPrefixTransform(kMaxRequestKeyBytes));
      options.memtable_factory.reset(rocksdb::NewHashLinkListRepFactory(1 << 17));
      [[fallthrough]];
    case ColumnFamily::kReports:
    case ColumnFamily::kWorkflow:
    case ColumnFamily::kClaims:
      // Point lookups: a Bloom filter spares the reads of table files without the key, one
      // on the memtable spares its search for a key that is not there (most reports have
      // no workflow record yet), and a hash index in each data block finds the key in it
      // without a binary search.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
      options.memtable_prefix_bloom_size_ratio = 0.02;
      options.memtable_whole_key_filtering = true;
      break;
    case ColumnFamily::kStatistics:
      options.merge_operator = NewCounterMergeOperator();
      // Each batch adds an operand to dozens of groups' keys: a memtable hashed by group
      // keeps each insert in a small skiplist (a submit's counting cost 3x less than in one
      // big skiplist). See counter_keys.h for what that asks of readers.
      options.prefix_extractor = CounterGroupTransform();
      // A query seeks every group it might need (e.g. each region with each reporter
      // type); a prefix Bloom filter answers for the groups a table file does not hold.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.whole_key_filtering = false;
      // Skiplists as tall as RocksDB's default one (12 levels, not the hashed memtable's 4):
      // a busy group's key gets an operand every batch, and a short skiplist would search
      // its thousands of operands almost linearly before a flush.
      options.memtable_factory.reset(rocksdb::NewHashSkipListRepFactory(100000, 12, 4));
      break;
    default:
      break;
  }
  options.memtable_insert_with_hint_prefix_extractor = InsertHintFor(family);
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// Records this build's schema version, after the upgrades from `from` (0: a new store).
[[nodiscard]] absl::Status WriteSchema(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                                       rocksdb::ColumnFamilyHandle* statistics, uint32_t from) {
  rocksdb::WriteBatch batch;
  if (from == 2) {  // schema 1 had no counters; schema 2 counted every single dimension
    for (const auto& [begin, end] : SingleGroupRangesDroppedAtSchema3()) {
      rocksdb::Status s = batch.DeleteRange(statistics, begin, end);
      if (!s.ok()) return FromRocksDb(s, "upgrade statistics");
    }
  }
  std::string encoded;
  PutFixed32BE(&encoded, kSchemaVersion);
  rocksdb::Status s = batch.Put(meta, kSchemaVersionKey, encoded);
  if (!s.ok()) return FromRocksDb(s, "write schema version");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocksDb(db->Write(wo, &batch), "write schema version");
}

[[nodiscard]] absl::Status CheckSchema(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                                       rocksdb::ColumnFamilyHandle* statistics,
                                       const std::string& path) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kSchemaVersionKey, &value);
  if (s.IsNotFound()) return WriteSchema(db, meta, statistics, 0);
  if (!s.ok()) return FromRocksDb(s, "read schema version");
  absl::string_view in(value);
  std::optional<uint32_t> version = GetFixed32BE(&in);
  if (!version) return DataDirError(path, "schema version record is corrupt");
  if (*version > kSchemaVersion) {
    return DataDirError(path, absl::StrCat("written by a newer version (schema ", *version,
                                           ", this build reads up to ", kSchemaVersion, ")"));
  }
  // An upgrade: the new families were created at open.
  if (*version < kSchemaVersion) return WriteSchema(db, meta, statistics, *version);
  return absl::OkStatus();
}

}  // namespace

rocksdb::ColumnFamilyOptions StoreFamilyOptions(ColumnFamily family) {
  return FamilyOptions(family, rocksdb::NewLRUCache(size_t{8} << 20));
}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  absl::StatusOr<DataDirLock> lock = DataDirLock::Acquire(options.path);
  if (!lock.ok()) return lock.status();

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 5;
  db_options.max_log_file_size = 16 << 20;
  db_options.max_total_wal_size = kMaxTotalWalBytes;
  // One writer (the committer), and the counters family's hash memtable cannot take
  // concurrent inserts.
  db_options.allow_concurrent_memtable_write = false;
  // One block cache for every family: reports, workflow records and request records are
  // read by key (a claim reads the report and its workflow record), so their blocks and
  // filters should stay in memory on a large store.
  const std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.memory.block_cache_bytes);
  db_options.db_write_buffer_size = options.memory.memtable_bytes;
  if (options.env != nullptr) db_options.env = options.env;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kColumnFamilyCount; ++i) {
    rocksdb::ColumnFamilyOptions family = FamilyOptions(static_cast<ColumnFamily>(i), cache);
    family.write_buffer_size = std::min(kMaxFamilyMemtableBytes, options.memory.memtable_bytes);
    descriptors.emplace_back(std::string(kColumnFamilyNames[i]), std::move(family));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw_db);
  if (!s.ok()) {
    return DataDirError(options.path, absl::StrCat("cannot open database: ", s.ToString()));
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  // handles[0] is "default"; ours follow in ColumnFamily order.
  db->DestroyColumnFamilyHandle(handles[0]);
  handles.erase(handles.begin());
  std::unique_ptr<Engine> engine(
      new Engine(options.path, *std::move(lock), std::move(db), std::move(handles)));
  if (absl::Status schema = CheckSchema(engine->db(), engine->handle(ColumnFamily::kMeta),
                                        engine->handle(ColumnFamily::kStatistics), options.path);
      !schema.ok()) {
    return schema;
  }
  return engine;
}

Engine::Engine(std::string path, DataDirLock lock, std::unique_ptr<rocksdb::DB> db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles)
    : path_(std::move(path)),
      lock_(std::move(lock)),
      db_(std::move(db)),
      handles_(std::move(handles)) {}

Engine::~Engine() {
  committer_.reset();  // commits and acknowledges everything pending first
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  rocksdb::Status s = db_->Close();
  (void)s;  // nothing left to tell: every acknowledged write was already synced
  db_.reset();
}  // lock_ is released last

void Engine::StartCommitter(CommitterOptions options, AuditHead audit_head, std::string chain_key) {
  if (!options.free_bytes) {
    options.free_bytes = [path = path_]() -> absl::StatusOr<uint64_t> {
      struct statvfs fs;
      if (::statvfs(path.c_str(), &fs) != 0) {
        return absl::UnavailableError(absl::StrCat("statvfs ", path, ": ", std::strerror(errno)));
      }
      return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    };
  }
  committer_ = std::make_unique<Committer>(db_.get(), handles_, std::move(options),
                                           std::move(audit_head), std::move(chain_key));
}

absl::Status Engine::Flush() {
  rocksdb::FlushOptions options;
  options.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  return FromRocksDb(db_->Flush(options, all), "flush");
}

absl::StatusOr<bool> Engine::HoldsData() const {
  for (ColumnFamily family : {ColumnFamily::kReports, ColumnFamily::kEvents, ColumnFamily::kQueue,
                              ColumnFamily::kRequests}) {
    rocksdb::ReadOptions read;
    read.total_order_seek = true;  // the requests family's memtable is hashed by key
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read, handle(family)));
    it->SeekToFirst();
    if (it->Valid()) return true;
    if (!it->status().ok()) return FromRocksDb(it->status(), "scan for data");
  }
  return false;
}

}  // namespace safeguarding::storage
