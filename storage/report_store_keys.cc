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

void ReportStore::RotateKey(absl::AnyInvocable<void(absl::StatusOr<KeyRotation>) &&> done) {
  if (reencrypting_.exchange(true)) {
    std::move(done)(absl::FailedPreconditionError(
        "a key rotation is still re-encrypting; try again when it has finished"));
    return;
  }
  auto result = std::make_shared<KeyRotation>();
  // The key file work (lock, write, fsync, rename) runs on the committer thread, not on
  // the caller's, and the new current key id is durable before the caller hears of it.
  committer_->CommitComputed(
      [this, result]() -> absl::StatusOr<Mutation> {
        absl::StatusOr<KeyRing> rotated = AppendNewKey(key_file_);
        if (!rotated.ok()) {
          return absl::UnavailableError(absl::StrCat("key rotation: ", rotated.status().message()));
        }
        result->new_key_id = rotated->current_key_id();
        {
          absl::MutexLock lock(&keys_mu_);
          keys_ = std::make_shared<const KeyRing>(*std::move(rotated));
        }
        uint64_t estimate = 0;
        db_->GetIntProperty(handle(ColumnFamily::kReports), "rocksdb.estimate-num-keys", &estimate);
        result->records_to_reencrypt = estimate;
        Mutation m;
        m.Put(ColumnFamily::kMeta, kCurrentKeyIdKey, EncodeKeyId(result->new_key_id));
        return m;
      },
      [this, result, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          reencrypting_ = false;
          std::move(done)(std::move(status));
          return;
        }
        ReencryptFrom("", /*final_pass=*/false);
        std::move(done)(*result);
      });
}

void ReportStore::ReencryptFrom(std::string start_key, bool final_pass) {
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
          if (SealedReportKeyId(value) == ring->current_key_id()) continue;
          std::optional<ReportId> id = ReportId::FromBytes(it->key().ToString());
          absl::StatusOr<v1::Report> report =
              id ? OpenReport(value, *id, *ring)
                 : absl::StatusOr<v1::Report>(absl::DataLossError("malformed report key"));
          absl::StatusOr<std::string> sealed =
              report.ok() ? SealReport(*report, *id, *ring) : report.status();
          if (!sealed.ok()) {
            // A damaged record stays as it is (still unreadable, still reported by reads);
            // the pass goes on with the others.
            reencrypt_failures_ += 1;
            continue;
          }
          m.Put(ColumnFamily::kReports, id->bytes(), *std::move(sealed));
        }
        if (!it->status().ok()) return FromRocksDb(it->status(), "re-encrypt scan");
        reencrypted_ += m.writes().size();
        return m;
      },
      [this, next, final_pass](const absl::Status& status) {
        if (status.ok() && !next->empty()) {
          ReencryptFrom(*next, final_pass);  // the next chunk, behind what arrived meanwhile
        } else if (status.ok() && !final_pass) {
          // One more pass catches reports sealed with the old key just before the switch
          // and committed after the first pass went by.
          ReencryptFrom("", /*final_pass=*/true);
        } else {
          if (!status.ok()) reencrypt_failures_ += 1;
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
