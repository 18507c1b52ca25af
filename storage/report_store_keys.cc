// ReportStore: encryption keys (the check at open, rotation, background re-encryption).
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "storage/report_codec.h"
#include "storage/report_store.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr char kCurrentKeyIdKey[] = "current_key_id";
constexpr int kReencryptChunk = 256;

std::string EncodeKeyId(uint32_t id) {
  std::string out;
  PutFixed32BE(&out, id);
  return out;
}

}  // namespace

absl::Status CheckCurrentKey(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                             const KeyRing& keys, const std::string& key_file) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kCurrentKeyIdKey, &value);
  if (s.IsNotFound()) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocksDb(db->Put(wo, meta, kCurrentKeyIdKey, EncodeKeyId(keys.current_key_id())),
                       "write current key id");
  }
  if (!s.ok()) return FromRocksDb(s, "read current key id");
  absl::string_view in(value);
  std::optional<uint32_t> id = GetFixed32BE(&in);
  if (!id) return absl::DataLossError("current key id record is corrupt");
  if (!keys.HasKey(*id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("key file ", key_file, " does not hold key ", KeyIdHex(*id),
                     " that encrypts this data directory (wrong --key_file?)"));
  }
  return absl::OkStatus();
}

std::shared_ptr<const KeyRing> ReportStore::keys() const {
  absl::MutexLock lock(&keys_mu_);
  return keys_;
}

absl::StatusOr<KeyRotation> ReportStore::RotateKey() {
  if (reencrypting_.exchange(true)) {
    return absl::FailedPreconditionError(
        "a key rotation is still re-encrypting; try again when it has finished");
  }
  absl::StatusOr<KeyRing> rotated = AppendNewKey(key_file_);
  if (!rotated.ok()) {
    reencrypting_ = false;
    return absl::UnavailableError(absl::StrCat("key rotation: ", rotated.status().message()));
  }
  KeyRotation result;
  result.new_key_id = rotated->current_key_id();
  {
    absl::MutexLock lock(&keys_mu_);
    keys_ = std::make_shared<const KeyRing>(*std::move(rotated));
  }
  uint64_t estimate = 0;
  db_->GetIntProperty(handle(ColumnFamily::kReports), "rocksdb.estimate-num-keys", &estimate);
  result.records_to_reencrypt = estimate;

  Mutation m;
  m.Put(ColumnFamily::kMeta, kCurrentKeyIdKey, EncodeKeyId(result.new_key_id));
  committer_->Commit(std::move(m), [](absl::Status) {});
  ReencryptFrom("");
  return result;
}

void ReportStore::ReencryptFrom(std::string start_key) {
  auto next = std::make_shared<std::string>();
  committer_->CommitComputed(
      // Runs on the committer thread: nothing else writes while it reads and re-seals.
      [this, start_key = std::move(start_key), next]() -> absl::StatusOr<Mutation> {
        std::shared_ptr<const KeyRing> ring = keys();
        Mutation m;
        std::unique_ptr<rocksdb::Iterator> it(
            db_->NewIterator(rocksdb::ReadOptions(), handle(ColumnFamily::kReports)));
        int seen = 0;
        for (it->Seek(start_key); it->Valid(); it->Next()) {
          if (seen++ == kReencryptChunk) {
            *next = it->key().ToString();
            break;
          }
          absl::string_view value(it->value().data(), it->value().size());
          std::optional<uint32_t> key_id = SealedReportKeyId(value);
          if (key_id == ring->current_key_id()) continue;
          std::optional<ReportId> id = ReportId::FromBytes(it->key().ToString());
          if (!id) return absl::DataLossError("malformed report key");
          absl::StatusOr<v1::Report> report = OpenReport(value, *id, *ring);
          if (!report.ok()) return report.status();
          absl::StatusOr<std::string> sealed = SealReport(*report, *id, *ring);
          if (!sealed.ok()) return sealed.status();
          m.Put(ColumnFamily::kReports, id->bytes(), *std::move(sealed));
        }
        if (!it->status().ok()) return FromRocksDb(it->status(), "re-encrypt scan");
        reencrypted_ += m.writes().size();
        return m;
      },
      [this, next](absl::Status status) {
        if (status.ok() && !next->empty()) {
          ReencryptFrom(*next);  // queue the next chunk behind whatever arrived meanwhile
        } else {
          reencrypting_ = false;
        }
      });
}

absl::Status ReportStore::Flush() {
  rocksdb::FlushOptions options;
  options.wait = true;
  std::vector<rocksdb::ColumnFamilyHandle*> all(handles_.begin(), handles_.end());
  return FromRocksDb(db_->Flush(options, all), "flush");
}

}  // namespace safeguarding::storage
