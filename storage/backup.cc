#include "storage/backup.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/utilities/backup_engine.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/column_families.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

using google::protobuf::util::TimeUtil;

constexpr char kKind[] = "backup directory";

rocksdb::BackupEngineOptions EngineOptions(const std::string& dir) {
  rocksdb::BackupEngineOptions options(dir);
  options.share_table_files = true;  // incremental: a table file is copied once
  options.share_files_with_checksum = true;
  options.sync = true;                    // a backup is complete only once its files are on disk
  options.max_background_operations = 1;  // leave the other core to the server
  return options;
}

// BackupEngine or BackupEngineReadOnly on `dir`; the caller owns it.
template <typename BackupEngineT>
[[nodiscard]] absl::StatusOr<BackupEngineT*> OpenEngine(const std::string& dir) {
  BackupEngineT* engine = nullptr;
  rocksdb::IOStatus s = BackupEngineT::Open(EngineOptions(dir), rocksdb::Env::Default(), &engine);
  if (!s.ok()) return common::DirError(kKind, dir, absl::StrCat("cannot open: ", s.ToString()));
  return engine;
}

StoredBackup FromInfo(const rocksdb::BackupInfo& info) {
  StoredBackup backup;
  backup.id = info.backup_id;
  backup.create_time = absl::FromUnixSeconds(info.timestamp);
  backup.size_bytes = info.size;
  backup.files = info.number_files;
  if (!backup.metadata.ParseFromString(info.app_metadata)) backup.metadata.Clear();
  return backup;
}

[[nodiscard]] absl::Status InDirectory(const std::string& dir, const rocksdb::Status& s,
                                       absl::string_view what) {
  return FromRocksDb(s, absl::StrCat(kKind, " ", dir, ": ", what));
}

}  // namespace

absl::Status CheckApart(const std::string& backup_dir, const std::string& data_dir) {
  std::error_code ec;
  const std::filesystem::path backups = std::filesystem::weakly_canonical(backup_dir, ec);
  const std::filesystem::path data = std::filesystem::weakly_canonical(data_dir, ec);
  if (ec) return absl::OkStatus();  // BackupDirectory::Open names what is wrong with it
  auto within = [](const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto [end, unused] = std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end());
    return end == outer.end();
  };
  if (within(backups, data) || within(data, backups)) {
    return absl::FailedPreconditionError(
        absl::StrCat("backup directory ", backup_dir, ": must be outside the data directory ",
                     data_dir, " (and not contain it): put it on another volume"));
  }
  return absl::OkStatus();
}

namespace {

// Stands in for the statistics family's merge operator in a read-only open: replaying the
// log's merge records into memtables needs an operator set (without one RocksDB stops the
// replay there, and the trail would seem to end early), but that family is never read.
class UnreadMerges : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice*, const rocksdb::Slice&, std::string*,
             rocksdb::Logger*) const override {
    return false;  // never called: nothing merged is read
  }
  const char* Name() const override { return "safeguarding.unread-merges"; }
};

}  // namespace

absl::StatusOr<common::AuditAnchorPoint> RestoredTrailEnd(const std::string& data_dir) {
  // Every family with RocksDB's comparator, as the store's keep; the log replayed whole or
  // not at all (an error, not a trail that seems to end early).
  rocksdb::Options options;
  options.merge_operator = std::make_shared<UnreadMerges>();
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kAbsoluteConsistency;
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(options, data_dir, &names);
  if (!s.ok()) return FromRocksDb(s, "list the restored copy's families");
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  for (const std::string& name : names) families.emplace_back(name, options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(options, data_dir, families, &handles, &raw);
  if (!s.ok()) return FromRocksDb(s, "open the restored copy read-only");
  std::unique_ptr<rocksdb::DB> db(raw);
  absl::StatusOr<common::AuditAnchorPoint> end =
      absl::NotFoundError("the restored copy has no audit trail");
  const std::string_view audit = kColumnFamilyNames[static_cast<int>(ColumnFamily::kAudit)];
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] != audit) continue;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    it->SeekToLast();
    triage::v1::AuditEntry entry;
    if (it->Valid() &&
        entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      end = common::AuditAnchorPoint{entry.sequence(), entry.hash()};
    } else if (it->Valid() || !it->status().ok()) {
      end = absl::DataLossError("the restored copy's last audit entry cannot be read");
    }
  }
  for (rocksdb::ColumnFamilyHandle* handle : handles) (void)db->DestroyColumnFamilyHandle(handle);
  return end;
}

triage::v1::BackupInfo BackupInfoOf(const StoredBackup& backup) {
  triage::v1::BackupInfo info;
  info.set_backup_id(absl::StrCat(backup.id));
  *info.mutable_create_time() =
      TimeUtil::SecondsToTimestamp(absl::ToUnixSeconds(backup.create_time));
  info.set_size_bytes(backup.size_bytes);
  info.set_files(backup.files);
  info.set_damaged(backup.damaged);
  *info.mutable_metadata() = backup.metadata;
  return info;
}

BackupDirectory::BackupDirectory(std::string path, common::DataDirLock lock)
    : path_(std::move(path)), lock_(std::move(lock)) {}

BackupDirectory::~BackupDirectory() = default;

absl::StatusOr<std::unique_ptr<BackupDirectory>> BackupDirectory::Open(const std::string& dir) {
  absl::StatusOr<common::DataDirLock> lock = common::DataDirLock::Acquire(dir, kKind);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<rocksdb::BackupEngine*> engine = OpenEngine<rocksdb::BackupEngine>(dir);
  if (!engine.ok()) return engine.status();
  std::unique_ptr<BackupDirectory> backups(new BackupDirectory(dir, *std::move(lock)));
  backups->writable_.reset(*engine);
  backups->reader_ = *engine;
  return backups;
}

absl::StatusOr<std::unique_ptr<BackupDirectory>> BackupDirectory::OpenReadOnly(
    const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return common::DirError(kKind, dir, "does not exist");
  }
  absl::StatusOr<common::DataDirLock> lock = common::DataDirLock::Acquire(dir, kKind);
  if (!lock.ok()) return lock.status();
  absl::StatusOr<rocksdb::BackupEngineReadOnly*> engine =
      OpenEngine<rocksdb::BackupEngineReadOnly>(dir);
  if (!engine.ok()) return engine.status();
  std::unique_ptr<BackupDirectory> backups(new BackupDirectory(dir, *std::move(lock)));
  backups->read_only_.reset(*engine);
  backups->reader_ = *engine;
  return backups;
}

absl::StatusOr<BackupDirectory::Created> BackupDirectory::Create(
    rocksdb::DB* db, const triage::v1::BackupMetadata& metadata, uint32_t keep) {
  if (writable_ == nullptr) return absl::InternalError("backup directory opened read-only");
  rocksdb::CreateBackupOptions options;
  // Table files rather than a long write-ahead log: the next backup shares them.
  options.flush_before_backup = true;
  options.decrease_background_thread_cpu_priority = true;
  options.background_thread_cpu_priority = rocksdb::CpuPriority::kLow;
  rocksdb::BackupID id = 0;
  rocksdb::IOStatus s =
      writable_->CreateNewBackupWithMetadata(options, db, metadata.SerializeAsString(), &id);
  if (s.IsIncomplete()) return absl::CancelledError("backup stopped: the server is stopping");
  if (!s.ok()) return InDirectory(path_, s, "cannot write a backup");
  absl::StatusOr<StoredBackup> created = Get(id);
  if (!created.ok()) return created.status();
  Created result{*std::move(created), 0};
  const size_t before = List().size();
  if (rocksdb::IOStatus purged = writable_->PurgeOldBackups(std::max<uint32_t>(keep, 1));
      !purged.ok()) {
    return InDirectory(path_, purged, "backup written, but older ones cannot be deleted");
  }
  result.deleted = static_cast<uint32_t>(before - List().size());
  return result;
}

void BackupDirectory::Stop() {
  if (writable_ != nullptr) writable_->StopBackup();
}

std::vector<StoredBackup> BackupDirectory::List() const {
  std::vector<rocksdb::BackupInfo> infos;
  reader_->GetBackupInfo(&infos);
  std::vector<StoredBackup> backups;
  backups.reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) backups.push_back(FromInfo(info));
  std::vector<rocksdb::BackupID> damaged;
  reader_->GetCorruptedBackups(&damaged);
  for (rocksdb::BackupID id : damaged) backups.push_back(StoredBackup{.id = id, .damaged = true});
  std::sort(backups.begin(), backups.end(),
            [](const StoredBackup& a, const StoredBackup& b) { return a.id < b.id; });
  return backups;
}

absl::StatusOr<StoredBackup> BackupDirectory::Get(uint32_t id) const {
  rocksdb::BackupInfo info;
  rocksdb::Status s = reader_->GetBackupInfo(id, &info);
  if (s.IsCorruption()) return StoredBackup{.id = id, .damaged = true};
  if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no backup ", id, " in ", path_));
  if (!s.ok()) return InDirectory(path_, s, absl::StrCat("cannot read backup ", id));
  return FromInfo(info);
}

absl::Status BackupDirectory::Verify(uint32_t id) const {
  absl::StatusOr<StoredBackup> known = Get(id);
  if (!known.ok()) return known.status();
  if (known->damaged) {
    return absl::DataLossError(
        absl::StrCat("backup ", id, ": its description (meta/", id, ") is damaged"));
  }
  rocksdb::IOStatus s = reader_->VerifyBackup(id, /*verify_with_checksum=*/true);
  if (s.ok()) return absl::OkStatus();
  if (s.IsIncomplete()) return absl::CancelledError("verification stopped: the server is stopping");
  if (s.IsNotFound() || s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat("backup ", id, ": ", s.ToString()));
  }
  return InDirectory(path_, s, absl::StrCat("cannot verify backup ", id));
}

absl::Status BackupDirectory::Restore(uint32_t id, const std::string& data_dir) const {
  absl::StatusOr<StoredBackup> known = Get(id);
  if (!known.ok()) return known.status();
  if (known->damaged) return absl::DataLossError(absl::StrCat("backup ", id, " is damaged"));
  rocksdb::IOStatus s =
      reader_->RestoreDBFromBackup(rocksdb::RestoreOptions(), id, data_dir, data_dir);
  if (!s.ok()) return InDirectory(path_, s, absl::StrCat("cannot restore backup ", id));
  return absl::OkStatus();
}

}  // namespace safeguarding::storage
