#include "storage/data_keys.h"

#include <openssl/crypto.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/event_codec.h"
#include "storage/key_encoding.h"
#include "storage/report_codec.h"
#include "storage/report_id.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {

using common::DeterministicEncoding;
using common::HmacSha256;
using common::Sha256;
namespace {

constexpr char kCurrentKeyIdKey[] = "current_key_id";
constexpr char kKeysInUseKey[] = "data_keys_in_use";
// Where an unfinished rotation's re-encryption goes on: final pass (u8), failures so far
// (u64), the next report key. Written with every chunk, removed with the last.
constexpr char kReencryptCursorKey[] = "reencrypt_cursor";
constexpr int kReencryptChunk = 256;

std::string EncodeKeyId(uint32_t id) {
  std::string out;
  PutFixed32BE(&out, id);
  return out;
}

constexpr char kKeysInUseMacLabel[] = "data keys in use|";

// u32 ids, then HMAC-SHA256 under `key` (an audit chain key) of the label and the ids.
std::string EncodeKeyIds(const std::vector<uint32_t>& ids, absl::string_view key) {
  std::string out;
  for (uint32_t id : ids) PutFixed32BE(&out, id);
  out.append(HmacSha256(key, absl::StrCat(kKeysInUseMacLabel, out)));
  return out;
}

// nullopt if malformed or signed with none of `keys`.
std::optional<std::vector<uint32_t>> DecodeKeyIds(absl::string_view in,
                                                  const std::vector<std::string>& keys) {
  constexpr size_t kMacBytes = 32;
  if (in.size() <= kMacBytes || (in.size() - kMacBytes) % 4 != 0) return std::nullopt;
  absl::string_view ids_part = in.substr(0, in.size() - kMacBytes);
  absl::string_view mac = in.substr(in.size() - kMacBytes);
  const std::string signed_part = absl::StrCat(kKeysInUseMacLabel, ids_part);
  const bool valid = std::any_of(keys.begin(), keys.end(), [&](const std::string& key) {
    const std::string expected = HmacSha256(key, signed_part);
    return CRYPTO_memcmp(expected.data(), mac.data(), kMacBytes) == 0;
  });
  if (!valid) return std::nullopt;
  std::vector<uint32_t> ids;
  while (!ids_part.empty()) ids.push_back(*GetFixed32BE(&ids_part));
  return ids;
}

// The families whose records hold sealed parts, in the order a re-encryption pass visits
// them.
struct SealedFamily {
  ColumnFamily family;
  // The key id the record is sealed with; nullopt for nothing sealed (or malformed).
  std::optional<uint32_t> (*key_id)(absl::string_view value);
  // A record without a sealed part needs nothing (events without text); a report always has
  // one, so a report that shows none is damaged and counts as a failure.
  bool may_be_unsealed;
  // The record sealed anew under the ring's current key.
  absl::StatusOr<std::string> (*reseal)(absl::string_view key, absl::string_view value,
                                        const KeyRing& ring);
};

[[nodiscard]] absl::StatusOr<std::string> ResealReport(absl::string_view key,
                                                       absl::string_view value,
                                                       const KeyRing& ring) {
  std::optional<ReportId> id = ReportId::FromBytes(key);
  if (!id) return absl::DataLossError("malformed report key");
  absl::StatusOr<v1::Report> report = OpenReport(value, *id, ring);
  if (!report.ok()) return report.status();
  return SealReport(*report, *id, ring);
}

[[nodiscard]] absl::StatusOr<std::string> ResealEvent(absl::string_view key,
                                                      absl::string_view value,
                                                      const KeyRing& ring) {
  absl::StatusOr<v1::ReportEvent> event = OpenEvent(value, key, ring);
  if (!event.ok()) return event.status();
  return SealEvent(*event, key, ring);
}

[[nodiscard]] absl::StatusOr<std::string> ResealWorkflow(absl::string_view key,
                                                         absl::string_view value,
                                                         const KeyRing& ring) {
  std::optional<ReportId> id = ReportId::FromBytes(key);
  if (!id) return absl::DataLossError("malformed workflow key");
  absl::StatusOr<v1::Report> workflow = OpenWorkflow(value, *id, ring);
  if (!workflow.ok()) return workflow.status();
  return SealWorkflow(*workflow, *id, ring);
}

constexpr SealedFamily kSealedFamilies[] = {
    {ColumnFamily::kReports, SealedReportKeyId, false, ResealReport},
    {ColumnFamily::kEvents, SealedEventKeyId, true, ResealEvent},
    {ColumnFamily::kWorkflow, SealedWorkflowKeyId, false, ResealWorkflow},
};
constexpr size_t kSealedFamilyCount = sizeof(kSealedFamilies) / sizeof(kSealedFamilies[0]);

// Byte 0: bit 0 final pass, bits 1.. the sealed family the pass is in (0 = reports, as
// cursors written before events were sealed say).
std::string EncodeCursor(bool final_pass, size_t family, uint64_t failures,
                         absl::string_view next_key) {
  std::string out(1, static_cast<char>((final_pass ? 1 : 0) | (family << 1)));
  PutFixed64BE(&out, failures);
  out.append(next_key.data(), next_key.size());
  return out;
}

void AddKeyId(std::vector<uint32_t>& ids, uint32_t id) {
  if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
}

// The key ids that seal at least one stored record (a full scan of every sealed family).
[[nodiscard]] absl::StatusOr<std::vector<uint32_t>> KeysSealingData(const Engine& engine) {
  std::vector<uint32_t> ids;
  for (const SealedFamily& sealed : kSealedFamilies) {
    std::unique_ptr<rocksdb::Iterator> it(
        engine.db()->NewIterator(rocksdb::ReadOptions(), engine.handle(sealed.family)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::optional<uint32_t> id =
          sealed.key_id(absl::string_view(it->value().data(), it->value().size()));
      if (id) AddKeyId(ids, *id);
    }
    if (!it->status().ok()) return FromRocksDb(it->status(), "scan sealed records' keys");
  }
  return ids;
}

// Checks `keys` against meta; returns the keys in use (recording them if needed).
[[nodiscard]] absl::StatusOr<std::vector<uint32_t>> CheckRecordedKeys(const Engine& engine,
                                                                      const KeyRing& keys,
                                                                      const std::string& key_file,
                                                                      const AuditKeys& audit_keys) {
  rocksdb::DB* db = engine.db();
  rocksdb::ColumnFamilyHandle* meta = engine.handle(ColumnFamily::kMeta);
  rocksdb::WriteBatch batch;
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kCurrentKeyIdKey, &value);
  if (s.IsNotFound()) {
    batch.Put(meta, kCurrentKeyIdKey, EncodeKeyId(keys.current_key_id()));
  } else if (!s.ok()) {
    return FromRocksDb(s, "read current key id");
  } else {
    absl::string_view in(value);
    std::optional<uint32_t> recorded_current = GetFixed32BE(&in);
    if (!recorded_current) return absl::DataLossError("current key id record is corrupt");
    if (!keys.HasKey(*recorded_current)) {
      return absl::FailedPreconditionError(
          absl::StrCat("key file ", key_file, " does not hold key ", KeyIdHex(*recorded_current),
                       " that encrypts this data directory (wrong --key_file?)"));
    }
  }

  std::vector<uint32_t> in_use;
  s = db->Get(rocksdb::ReadOptions(), meta, kKeysInUseKey, &value);
  bool recorded = !s.IsNotFound();
  if (recorded && !s.ok()) return FromRocksDb(s, "read data keys in use");
  std::optional<std::vector<uint32_t>> decoded;
  if (recorded) decoded = DecodeKeyIds(value, audit_keys.chain_keys());
  if (decoded) {
    in_use = *std::move(decoded);
  } else if (!recorded) {
    in_use = keys.key_ids();  // an older store: nothing is known to be retired yet
  } else {
    // A record that does not verify (rewritten outside the server, or signed with an audit
    // key since removed): find out from the reports themselves which keys seal them.
    absl::StatusOr<std::vector<uint32_t>> sealing = KeysSealingData(engine);
    if (!sealing.ok()) return sealing.status();
    in_use = *std::move(sealing);
    recorded = false;
  }
  for (uint32_t id : in_use) {
    if (!keys.HasKey(id)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "key file ", key_file, " lacks data key ", KeyIdHex(id),
          ", which may still seal stored reports; put it back (only keys that `triagectl admin "
          "keys` lists as retired may be removed)"));
    }
  }
  // New data will be sealed with the ring's current key.
  const size_t before = in_use.size();
  AddKeyId(in_use, keys.current_key_id());
  if (!recorded || in_use.size() != before) {
    batch.Put(meta, kKeysInUseKey, EncodeKeyIds(in_use, audit_keys.current_chain_key()));
  }
  if (batch.Count() > 0) {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (absl::Status w = FromRocksDb(db->Write(wo, &batch), "record data keys"); !w.ok()) return w;
  }
  return in_use;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DataKeys>> DataKeys::Open(Engine& engine, std::string key_file,
                                                         const KeyRing& ring,
                                                         const AuditKeys& audit_keys) {
  absl::StatusOr<std::vector<uint32_t>> in_use =
      CheckRecordedKeys(engine, ring, key_file, audit_keys);
  if (!in_use.ok()) return in_use.status();
  return std::unique_ptr<DataKeys>(new DataKeys(
      engine, std::move(key_file), ring, *std::move(in_use), audit_keys.current_chain_key()));
}

DataKeys::DataKeys(Engine& engine, std::string key_file, const KeyRing& ring,
                   std::vector<uint32_t> in_use, std::string record_key)
    : engine_(engine),
      key_file_(std::move(key_file)),
      record_key_(std::move(record_key)),
      ring_(std::make_shared<const KeyRing>(ring)),
      in_use_(std::move(in_use)) {}

DataKeys::SealingScope::SealingScope(const DataKeys& keys) : keys_(keys) { keys_.mu_.ReaderLock(); }

void DataKeys::SealingScope::Release() {
  if (!held_) return;
  held_ = false;
  keys_.mu_.ReaderUnlock();
}

std::vector<DataKeyStatus> DataKeys::Status() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<DataKeyStatus> out;
  for (uint32_t id : ring_->key_ids()) {
    const bool in_use = std::find(in_use_.begin(), in_use_.end(), id) != in_use_.end();
    out.push_back(DataKeyStatus{id, id == ring_->current_key_id(), in_use});
  }
  return out;
}

std::shared_ptr<const KeyRing> DataKeys::ring() const {
  absl::ReaderMutexLock lock(&mu_);
  return ring_;
}

void DataKeys::Rotate(absl::AnyInvocable<void(absl::StatusOr<KeyRotation>) &&> done) {
  if (reencrypting_.exchange(true)) {
    std::move(done)(absl::FailedPreconditionError(
        "a key rotation is still re-encrypting; try again when it has finished"));
    return;
  }
  auto result = std::make_shared<KeyRotation>();
  // The key file work (lock, write, fsync, rename) runs on the committer thread, not on
  // the caller's, and the new current key id is durable before the caller hears of it.
  engine_.committer().CommitComputed(
      [this, result]() -> absl::StatusOr<Mutation> {
        absl::StatusOr<KeyRing> rotated = AppendNewKey(key_file_);
        if (!rotated.ok()) {
          return absl::UnavailableError(absl::StrCat("key rotation: ", rotated.status().message()));
        }
        result->new_key_id = rotated->current_key_id();
        std::vector<uint32_t> in_use;
        {
          absl::MutexLock lock(&mu_);
          ring_ = std::make_shared<const KeyRing>(*std::move(rotated));
          AddKeyId(in_use_, result->new_key_id);
          in_use = in_use_;
        }
        uint64_t estimate = 0;
        engine_.db()->GetIntProperty(engine_.handle(ColumnFamily::kReports),
                                     "rocksdb.estimate-num-keys", &estimate);
        result->records_to_reencrypt = estimate;
        Mutation m;
        m.Put(ColumnFamily::kMeta, kCurrentKeyIdKey, EncodeKeyId(result->new_key_id));
        // Recorded before any record is sealed with the new key, so a crash never leaves
        // data under a key the store does not know it uses.
        m.Put(ColumnFamily::kMeta, kKeysInUseKey, EncodeKeyIds(in_use, record_key_));
        // From here the re-encryption survives a stop: the next start resumes it.
        m.Put(ColumnFamily::kMeta, kReencryptCursorKey, EncodeCursor(false, 0, 0, ""));
        return m;
      },
      [this, result, done = std::move(done)](absl::Status status) mutable {
        if (!status.ok()) {
          reencrypting_ = false;
          std::move(done)(std::move(status));
          return;
        }
        ReencryptFrom("", 0, /*final_pass=*/false, reencrypt_failures_.load());
        std::move(done)(*result);
      });
}

void DataKeys::Stop() { stopping_ = true; }

absl::Status DataKeys::ResumeBackgroundWork() {
  std::string value;
  rocksdb::Status s = engine_.db()->Get(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kMeta),
                                        kReencryptCursorKey, &value);
  if (s.IsNotFound()) return absl::OkStatus();
  if (!s.ok()) return FromRocksDb(s, "read re-encryption cursor");
  absl::string_view in(value);
  if (in.size() < 9) return absl::DataLossError("re-encryption cursor is corrupt");
  const bool final_pass = (in[0] & 1) != 0;
  const size_t family = static_cast<uint8_t>(in[0]) >> 1;
  if (family >= kSealedFamilyCount) return absl::DataLossError("re-encryption cursor is corrupt");
  in.remove_prefix(1);
  const uint64_t failures = *GetFixed64BE(&in);
  reencrypting_ = true;
  resumed_ = true;
  // The baseline makes "no failure in this rotation" carry over the restart.
  ReencryptFrom(std::string(in), family, final_pass, reencrypt_failures_.load() - failures);
  return absl::OkStatus();
}

void DataKeys::ReencryptFrom(std::string start_key, size_t family, bool final_pass,
                             uint64_t failures_before) {
  auto chunk = std::make_shared<ReencryptChunk>();
  chunk->start_key = std::move(start_key);
  chunk->family = family;
  chunk->final_pass = final_pass;
  chunk->failures_before = failures_before;
  engine_.committer().CommitComputed(
      // Runs on the committer thread: nothing else writes while it reads and re-seals.
      [this, chunk]() -> absl::StatusOr<Mutation> { return Reencrypt(*chunk); },
      [this, chunk](const absl::Status& status) { AfterReencrypt(*chunk, status); });
}

absl::StatusOr<Mutation> DataKeys::Reencrypt(ReencryptChunk& chunk) {
  Mutation m;
  if (stopping_) return m;  // the cursor stays where the last chunk left it
  std::shared_ptr<const KeyRing> ring = this->ring();
  const SealedFamily& sealed = kSealedFamilies[chunk.family];
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(rocksdb::ReadOptions(), engine_.handle(sealed.family)));
  int seen = 0;
  chunk.next_family = chunk.family;
  for (it->Seek(chunk.start_key); it->Valid(); it->Next()) {
    if (seen++ == kReencryptChunk) {
      chunk.next = it->key().ToString();
      break;
    }
    absl::string_view value(it->value().data(), it->value().size());
    const std::optional<uint32_t> key_id = sealed.key_id(value);
    if (key_id == ring->current_key_id() || (!key_id && sealed.may_be_unsealed)) continue;
    const absl::string_view key(it->key().data(), it->key().size());
    absl::StatusOr<std::string> resealed = sealed.reseal(key, value, *ring);
    if (!resealed.ok()) {
      // A damaged record stays as it is (still unreadable, still reported by reads); the
      // pass goes on with the others.
      reencrypt_failures_ += 1;
      continue;
    }
    m.Put(sealed.family, std::string(key), *std::move(resealed));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "re-encrypt scan");
  if (chunk.next.empty() && chunk.family + 1 < kSealedFamilyCount) {
    chunk.next_family = chunk.family + 1;  // on to the next family, from its start
    chunk.more = true;
  } else {
    chunk.more = !chunk.next.empty();
  }
  reencrypted_ += m.writes().size();
  const bool last_chunk = chunk.final_pass && !chunk.more;
  if (last_chunk && reencrypt_failures_.load() == chunk.failures_before) {
    // Every record is now sealed with the current key (SealingScope makes sure nothing
    // sealed with an older ring is still on its way): older keys are retired.
    chunk.retired_to = std::vector<uint32_t>{ring->current_key_id()};
    m.Put(ColumnFamily::kMeta, kKeysInUseKey, EncodeKeyIds(*chunk.retired_to, record_key_));
  }
  // Where to go on after a stop, in the same batch as this chunk.
  if (last_chunk) {
    m.Delete(ColumnFamily::kMeta, kReencryptCursorKey);
  } else {
    m.Put(ColumnFamily::kMeta, kReencryptCursorKey,
          EncodeCursor(chunk.final_pass || !chunk.more, chunk.more ? chunk.next_family : 0,
                       reencrypt_failures_.load() - chunk.failures_before, chunk.next));
  }
  return m;
}

void DataKeys::AfterReencrypt(const ReencryptChunk& chunk, const absl::Status& status) {
  if (stopping_) {
    reencrypting_ = false;  // resumed at the next start
    return;
  }
  if (status.ok() && chunk.more) {
    // The next chunk, behind what arrived meanwhile.
    ReencryptFrom(chunk.next, chunk.next_family, chunk.final_pass, chunk.failures_before);
  } else if (status.ok() && !chunk.final_pass) {
    // One more pass confirms that nothing sealed with an older key is left, and retires
    // the older keys at its end.
    ReencryptFrom("", 0, /*final_pass=*/true, chunk.failures_before);
  } else {
    if (!status.ok()) reencrypt_failures_ += 1;
    if (status.ok() && chunk.retired_to.has_value()) {
      absl::MutexLock lock(&mu_);
      in_use_ = *chunk.retired_to;
    }
    reencrypting_ = false;
  }
}

}  // namespace safeguarding::storage
