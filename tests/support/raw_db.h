// RawDb: the RocksDB database behind a closed store (or a stopped server), opened directly
// so tests can tamper with it the way someone with write access to the data directory
// could: no key files, just the column families.
#ifndef SAFEGUARDING_TESTS_SUPPORT_RAW_DB_H_
#define SAFEGUARDING_TESTS_SUPPORT_RAW_DB_H_

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "rocksdb/db.h"
#include "storage/column_families.h"
#include "storage/engine.h"

namespace safeguarding::testing {

class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (int i = 0; i < storage::kColumnFamilyCount; ++i) {
      cfs.emplace_back(std::string(storage::kColumnFamilyNames[i]),
                       storage::StoreFamilyOptions(static_cast<storage::ColumnFamily>(i)));
    }
    rocksdb::DBOptions options;
    options.allow_concurrent_memtable_write = false;  // as the store opens it
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path, cfs, &handles_, &raw);
    if (!s.ok()) throw std::runtime_error("RawDb: " + s.ToString());
    db_.reset(raw);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  rocksdb::ColumnFamilyHandle* cf(storage::ColumnFamily f) {
    return handles_[1 + static_cast<int>(f)];
  }
  // Every (key, value) of a family in key order.
  std::vector<std::pair<std::string, std::string>> All(storage::ColumnFamily f) {
    std::vector<std::pair<std::string, std::string>> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(f)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> Audit() {
    return All(storage::ColumnFamily::kAudit);
  }
  // The value at `key`; throws if there is none.
  std::string Get(storage::ColumnFamily f, const std::string& key) {
    std::string value;
    Check(db_->Get(rocksdb::ReadOptions(), cf(f), key, &value));
    return value;
  }
  void Put(storage::ColumnFamily f, const std::string& key, const std::string& value) {
    Check(db_->Put(rocksdb::WriteOptions(), cf(f), key, value));
  }
  void Delete(storage::ColumnFamily f, const std::string& key) {
    Check(db_->Delete(rocksdb::WriteOptions(), cf(f), key));
  }
  rocksdb::DB* db() { return db_.get(); }

 private:
  static void Check(const rocksdb::Status& s) {
    if (!s.ok()) throw std::runtime_error("RawDb: " + s.ToString());
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_RAW_DB_H_
