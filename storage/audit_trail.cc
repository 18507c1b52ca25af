#include "storage/audit_trail.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "rocksdb/snapshot.h"
#include "rocksdb/write_batch.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr size_t kMaxAuditPage = 1000;
// A filter that rarely matches must not scan the whole trail in one call: a page ends
// after this many entries were looked at, with a token to go on.
constexpr size_t kMaxScannedPerPage = 50000;

bool ValidTimestampMicros(int64_t micros) {
  using google::protobuf::util::TimeUtil;
  return micros / 1'000'000 >= TimeUtil::kTimestampMinSeconds &&
         micros / 1'000'000 < TimeUtil::kTimestampMaxSeconds;
}

rocksdb::ReadOptions At(const rocksdb::Snapshot* snapshot) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  return options;
}

v1::AuditEntry ServerEntry(absl::string_view method) {
  v1::AuditEntry entry;
  entry.set_principal(kAuditServerPrincipal);
  entry.set_method(std::string(method));
  return entry;
}

}  // namespace

v1::AuditEntry KeyChangeEntry(uint32_t key_id, std::string previous_key_id,
                              std::string trail_digest) {
  v1::AuditEntry entry = ServerEntry(kAuditKeyChangeMethod);
  v1::AuditKeyChange* change = entry.mutable_key_change();
  change->set_key_id(KeyIdHex(key_id));
  change->set_previous_key_id(std::move(previous_key_id));
  change->set_trail_digest(std::move(trail_digest));
  return entry;
}

v1::AuditEntry TrailBreakEntry(std::string problem) {
  v1::AuditEntry entry = ServerEntry(kAuditTrailBreakMethod);
  entry.mutable_trail_break()->set_problem(std::move(problem));
  return entry;
}

AuditTrail::AuditTrail(const Engine& engine, AuditKeys keys)
    : engine_(engine),
      db_(engine.db()),
      audit_(engine.handle(ColumnFamily::kAudit)),
      meta_(engine.handle(ColumnFamily::kMeta)),
      keys_(std::move(keys)) {}

void AuditTrail::Record(v1::AuditEntry entry,
                        absl::AnyInvocable<void(absl::Status) &&> done) const {
  Mutation m;
  m.Audit(std::move(entry));
  engine_.committer().Commit(std::move(m), std::move(done));
}

absl::StatusOr<std::optional<StoredHead>> AuditTrail::ReadHead(
    const rocksdb::Snapshot* snapshot) const {
  std::string value;
  rocksdb::Status s = db_->Get(At(snapshot), meta_, kAuditHeadKey, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "read audit head");
  std::optional<StoredHead> head = DecodeStoredHead(value);
  if (!head) return absl::DataLossError("the audit head record cannot be decoded");
  return head;
}

absl::StatusOr<std::optional<AuditTrail::Located>> AuditTrail::Edge(
    const rocksdb::Snapshot* snapshot, bool last) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(At(snapshot), audit_));
  if (last) {
    it->SeekToLast();
  } else {
    it->SeekToFirst();
  }
  if (!it->Valid()) {
    if (!it->status().ok()) return FromRocksDb(it->status(), "read audit trail");
    return std::nullopt;
  }
  std::optional<AuditKeyParts> parts =
      ParseAuditKey(absl::string_view(it->key().data(), it->key().size()));
  if (!parts) return absl::DataLossError("malformed audit key");
  v1::AuditEntry entry;
  if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
    return Located{parts->time_micros, parts->sequence, "", std::nullopt};
  }
  std::string hash = entry.hash();
  return Located{parts->time_micros, parts->sequence, std::move(hash), std::move(entry)};
}

absl::StatusOr<bool> AuditTrail::Walk(const rocksdb::Snapshot* snapshot,
                                      AuditChainVerifier& verifier, uint64_t* decoded) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(At(snapshot), audit_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<AuditKeyParts> parts =
        ParseAuditKey(absl::string_view(it->key().data(), it->key().size()));
    v1::AuditEntry entry;
    if (!parts || !entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return false;
    }
    verifier.Add(entry, parts->time_micros, parts->sequence);
    ++*decoded;
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "read audit trail");
  return true;
}

bool AuditTrail::LastEntryIsOurs(const std::optional<Located>& last) const {
  if (!last.has_value() || !last->entry.has_value()) return false;
  for (const std::string& key : keys_.chain_keys()) {
    if (AuditEntryHash(*last->entry, key) == last->entry->hash()) return true;
  }
  return false;
}

absl::StatusOr<AuditOpenPlan> AuditTrail::PlanOpen(const OpenContext& context) const {
  absl::StatusOr<TrailEnds> ends = ReadEnds(context);
  if (!ends.ok()) return ends.status();
  AuditOpenPlan plan;
  absl::StatusOr<bool> sound = JudgeHead(*ends, plan);
  if (!sound.ok()) return sound.status();
  if (*sound) return plan;  // the usual case: nothing to write
  // Everything else is rare (a new store, a migration, a new audit key, damage) and may
  // walk the whole trail once to seal it with a digest.
  if (absl::Status sealed = PlanSeal(*ends, context, plan); !sealed.ok()) return sealed;
  return plan;
}

absl::StatusOr<AuditTrail::TrailEnds> AuditTrail::ReadEnds(const OpenContext& context) const {
  TrailEnds ends;
  absl::StatusOr<std::optional<StoredHead>> stored = ReadHead(nullptr);
  if (!stored.ok() && stored.status().code() != absl::StatusCode::kDataLoss) {
    return stored.status();
  }
  ends.head_decodes = stored.ok();
  if (stored.ok()) ends.head = *std::move(stored);
  absl::StatusOr<std::optional<Located>> last = Edge(nullptr, /*last=*/true);
  if (!last.ok()) return last.status();
  ends.last = *std::move(last);
  if (ends.last.has_value() && !ValidTimestampMicros(ends.last->time_micros)) {
    // New entries must sort after it and could not be stamped: refuse rather than crash.
    return absl::FailedPreconditionError(absl::StrCat(
        "the newest audit entry is keyed with a time outside the years 1 to 9999 (sequence ",
        ends.last->sequence, "): the trail was rewritten outside the server"));
  }
  // Evidence that this version wrote the trail: a new store's first entry is a key change,
  // and a migration leaves its record in meta.
  absl::StatusOr<std::optional<Located>> first = Edge(nullptr, /*last=*/false);
  if (!first.ok()) return first.status();
  ends.written_by_this_version =
      context.opened_by_this_version ||
      (first->has_value() && (*first)->entry.has_value() && (*first)->entry->has_key_change());
  ends.store_has_data = context.store_has_data;
  const bool legacy_head = ends.head.has_value() && ends.head->legacy;
  if (context.migrate && !legacy_head) {
    return absl::FailedPreconditionError(
        "--migrate_audit_trail is only for the first start of a data directory written "
        "before audit keys existed; this one's trail does not need it: remove the flag");
  }
  if (legacy_head && !context.migrate && !ends.written_by_this_version) {
    return absl::FailedPreconditionError(
        "this data directory's audit trail was written by a release before audit keys "
        "existed (its head is unsigned): start once with --migrate_audit_trail to migrate it; "
        "if it was migrated before, its trail was cut back outside the server");
  }
  return ends;
}

absl::StatusOr<bool> AuditTrail::JudgeHead(const TrailEnds& ends, AuditOpenPlan& plan) const {
  const std::optional<Located>& last = ends.last;
  if (!ends.head_decodes) {
    plan.problem = "the chain head record cannot be decoded (rewritten outside the server)";
    return false;
  }
  if (!ends.head.has_value()) {
    // Without entries or data, a new store: its trail begins with the key change.
    if (last.has_value() || ends.store_has_data) {
      plan.problem = "the chain head is missing (removed outside the server)";
    }
    return false;
  }
  if (ends.head->legacy) {
    if (ends.written_by_this_version) {
      plan.problem =
          "the chain head is unsigned (the format of releases before audit keys), but this "
          "version wrote the trail (the head was rewritten outside the server)";
    } else {
      plan.migrating = true;
    }
    return false;
  }
  const AuditHead& head = ends.head->head;
  std::optional<std::string> head_key = keys_.ChainKey(head.key_id);
  if (!head_key && !LastEntryIsOurs(last)) {
    // Most likely another store's audit key file: refuse rather than record damage that is
    // not there.
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit key file does not hold audit key ", KeyIdHex(head.key_id),
        ", which signs this data directory's audit trail, and no key of it verifies the "
        "newest entry (wrong --audit_key_file, or a trail rewritten outside the server)"));
  }
  if (!head_key) {
    plan.problem =
        "the chain head names an audit key that is not in the audit key file "
        "(rewritten outside the server)";
  } else if (!HeadSignatureValid(*ends.head, *head_key)) {
    plan.problem = "the chain head's signature does not verify (rewritten outside the server)";
  } else if (!last.has_value() || last->sequence != head.sequence ||
             last->time_micros != head.time_micros || last->hash != head.hash) {
    plan.problem =
        absl::StrCat("the trail ends at sequence ", last.has_value() ? last->sequence : 0,
                     " but the signed head records ", head.sequence,
                     " (entries removed from the end, or changed, outside the server)");
  } else if (head.key_id != keys_.current_id()) {
    // A new audit key was added to the file: the key change seals the trail so far, so it
    // is checked whole first.
    plan.new_audit_key = true;
  } else {
    plan.start = head;
    return true;
  }
  return false;
}

absl::Status AuditTrail::PlanSeal(const TrailEnds& ends, const OpenContext& context,
                                  AuditOpenPlan& plan) const {
  const KeyRing& data_keys = context.data_keys;
  AuditVerifierOptions options;
  if (plan.migrating) {
    options.legacy_chain_key = data_keys.DeriveKey(kLegacyAuditChainKeyLabel);
    options.accept_legacy_head = true;
  }
  AuditChainVerifier verifier(keys_, options);
  uint64_t decoded = 0;
  absl::StatusOr<bool> walked = Walk(nullptr, verifier, &decoded);
  if (!walked.ok()) return walked.status();
  if (plan.migrating && verifier.seen_key_change()) {
    // A trail this version wrote never has an unsigned head: someone put one there, e.g.
    // to cut the newest entries without the key.
    plan.migrating = false;
    plan.problem =
        "the chain head is unsigned (the format of versions before audit keys), but the trail "
        "was written by this version (rewritten outside the server)";
  } else if (plan.migrating) {
    if (!*walked) {
      plan.problem = "an audit record cannot be decoded (found while migrating)";
    } else {
      verifier.Finish(ends.head);
      if (!verifier.intact()) {
        plan.problem = absl::StrCat("found while migrating, at sequence ",
                                    verifier.first_bad_sequence(), ": ", verifier.problem());
      }
    }
  } else if (!*walked && plan.problem.empty()) {
    plan.problem = "an audit record cannot be decoded";
  } else if (plan.new_audit_key) {
    verifier.Finish(ends.head);
    if (!verifier.intact()) {
      plan.problem = absl::StrCat("found when a new audit key was added, at sequence ",
                                  verifier.first_bad_sequence(), ": ", verifier.problem());
    }
  }

  AppendSeal(ends, data_keys, verifier, plan);
  return absl::OkStatus();
}

void AuditTrail::AppendSeal(const TrailEnds& ends, const KeyRing& data_keys,
                            const AuditChainVerifier& verifier, AuditOpenPlan& plan) const {
  // Continue from the entry actually last in the family, so new entries never reuse a
  // sequence number, whatever the head said.
  if (ends.last.has_value()) {
    plan.start.sequence = ends.last->sequence;
    plan.start.time_micros = ends.last->time_micros;
    plan.start.hash =
        ends.last->hash.empty() ? std::string(kAuditHashBytes, '\0') : ends.last->hash;
  }
  std::string previous_key;  // "" when the key change is the trail's first entry
  if (plan.start.sequence == 0) {
    // Nothing before it (a new store, or an empty trail of any kind).
  } else if (plan.migrating) {
    previous_key = absl::StrCat("legacy:", KeyIdHex(data_keys.oldest_key_id()));
  } else if (verifier.seen_key_change()) {
    previous_key = KeyIdHex(verifier.walked().key_id);
  } else {
    // No key change left before it: damaged beyond telling (the record of it follows).
    previous_key = absl::StrCat("legacy:", KeyIdHex(data_keys.oldest_key_id()));
  }
  // The key change seals everything before it under the current key; the record of damage
  // follows it, under that key, so verification reports it from then on.
  plan.to_append.push_back(
      KeyChangeEntry(keys_.current_id(), std::move(previous_key), verifier.digest()));
  if (!plan.problem.empty()) plan.to_append.push_back(TrailBreakEntry(plan.problem));
}

absl::StatusOr<AuditPage> AuditTrail::Read(const AuditQuery& query) const {
  std::string start_key;
  if (!query.page_token.empty()) {
    start_key = absl::HexStringToBytes(query.page_token);
    if (!ParseAuditKey(start_key) || absl::BytesToHexString(start_key) != query.page_token) {
      return absl::InvalidArgumentError("page_token: not a token from a previous page");
    }
  } else if (query.start) {
    start_key = AuditKey(absl::ToUnixMicros(*query.start), 0);
  }
  const size_t page_size = std::clamp<size_t>(query.page_size, 1, kMaxAuditPage);

  if (!query.report_id.empty()) return ReadByReport(query, start_key, page_size);
  AuditPage page;
  size_t scanned = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_));
  for (it->Seek(start_key); it->Valid(); it->Next()) {
    absl::string_view key(it->key().data(), it->key().size());
    std::optional<AuditKeyParts> parts = ParseAuditKey(key);
    if (!parts) return absl::DataLossError("malformed audit key");
    if (query.end && parts->time_micros >= absl::ToUnixMicros(*query.end)) break;
    if (page.entries.size() == page_size || scanned++ == kMaxScannedPerPage) {
      page.next_page_token = absl::BytesToHexString(key);
      break;
    }
    v1::AuditEntry entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("malformed audit entry");
    }
    if (!query.report_id.empty() && entry.report_id() != query.report_id) continue;
    if (!query.principal.empty() && entry.principal() != query.principal) continue;
    page.entries.push_back(std::move(entry));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "read audit log");
  return page;
}

absl::StatusOr<AuditPage> AuditTrail::ReadByReport(const AuditQuery& query,
                                                   const std::string& start_key,
                                                   size_t page_size) const {
  const std::string prefix = AuditByReportPrefix(query.report_id);
  AuditPage page;
  rocksdb::ColumnFamilyHandle* index = engine_.handle(ColumnFamily::kAuditByReport);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), index));
  for (it->Seek(prefix + start_key); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string audit_key = it->key().ToString().substr(prefix.size());
    std::optional<AuditKeyParts> parts = ParseAuditKey(audit_key);
    if (!parts) return absl::DataLossError("malformed audit index key");
    if (query.end && parts->time_micros >= absl::ToUnixMicros(*query.end)) break;
    if (page.entries.size() == page_size) {
      page.next_page_token = absl::BytesToHexString(audit_key);
      break;
    }
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), audit_, audit_key, &value);
    if (s.IsNotFound()) continue;  // an index entry without its entry: verify-audit reports it
    if (!s.ok()) return FromRocksDb(s, "read audit entry");
    v1::AuditEntry entry;
    if (!entry.ParseFromString(value)) return absl::DataLossError("malformed audit entry");
    if (entry.report_id() != query.report_id) continue;
    if (!query.principal.empty() && entry.principal() != query.principal) continue;
    page.entries.push_back(std::move(entry));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "read audit index");
  return page;
}

absl::Status AuditTrail::BuildReportIndex() {
  static constexpr char kIndexedKey[] = "audit_by_report_indexed";
  std::string marker;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kIndexedKey, &marker);
  if (s.ok()) return absl::OkStatus();
  if (!s.IsNotFound()) return FromRocksDb(s, "read audit index marker");
  // A trail written before the index existed: index it once (idempotent if interrupted).
  rocksdb::ColumnFamilyHandle* index = engine_.handle(ColumnFamily::kAuditByReport);
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), audit_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::AuditEntry entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        entry.report_id().empty()) {
      continue;  // undecodable entries are verify-audit's to report
    }
    if (rocksdb::Status put =
            batch.Put(index, AuditByReportKey(entry.report_id(), it->key().ToString()), "");
        !put.ok()) {
      return FromRocksDb(put, "index audit trail");
    }
    if (batch.Count() >= 10000) {
      if (absl::Status w = FromRocksDb(db_->Write(rocksdb::WriteOptions(), &batch), "index audit");
          !w.ok()) {
        return w;
      }
      batch.Clear();
    }
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "index audit trail");
  if (rocksdb::Status put = batch.Put(meta_, kIndexedKey, "1"); !put.ok()) {
    return FromRocksDb(put, "index audit trail");
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  return FromRocksDb(db_->Write(synced, &batch), "index audit trail");
}

absl::StatusOr<AuditVerification> AuditTrail::Verify(std::vector<AuditAnchorPoint> anchors) const {
  // One snapshot for the head and the entries: the committer may append meanwhile.
  rocksdb::ManagedSnapshot snapshot(db_);
  const size_t anchor_count = anchors.size();
  AuditVerifierOptions options;
  options.anchors = std::move(anchors);
  AuditChainVerifier verifier(keys_, std::move(options));

  AuditVerification result;
  uint64_t decoded = 0;
  absl::StatusOr<bool> walked = Walk(snapshot.snapshot(), verifier, &decoded);
  if (!walked.ok()) return walked.status();
  if (!*walked) {
    result.intact = false;
    result.entries_checked = decoded;
    if (!verifier.intact()) {  // an earlier problem comes first
      result.first_bad_sequence = verifier.first_bad_sequence();
      result.problem = verifier.problem();
    } else {
      result.first_bad_sequence = verifier.walked().sequence + 1;
      result.problem = "an audit record cannot be decoded";
    }
    return result;
  }
  absl::StatusOr<std::optional<StoredHead>> stored = ReadHead(snapshot.snapshot());
  if (!stored.ok() && stored.status().code() != absl::StatusCode::kDataLoss) {
    return stored.status();
  }
  if (!stored.ok()) {
    result.intact = false;
    result.entries_checked = decoded;
    result.first_bad_sequence = verifier.walked().sequence;
    result.problem = "the chain head record cannot be decoded (rewritten outside the server)";
    return result;
  }
  verifier.Finish(*stored);
  result.intact = verifier.intact();
  result.entries_checked = verifier.checked();
  result.head = AuditAnchorPoint{verifier.walked().sequence, verifier.walked().hash};
  if (!result.intact) {
    result.first_bad_sequence = verifier.first_bad_sequence();
    result.problem = verifier.problem();
  } else {
    result.anchors_checked = anchor_count;
  }
  return result;
}

absl::Status AuditTrail::CheckAnchor(const AuditAnchorPoint& anchor) const {
  rocksdb::ManagedSnapshot snapshot(db_);
  absl::StatusOr<std::optional<Located>> first = Edge(snapshot.snapshot(), /*last=*/false);
  if (!first.ok()) return first.status();
  absl::StatusOr<std::optional<Located>> last = Edge(snapshot.snapshot(), /*last=*/true);
  if (!last.ok()) return last.status();
  const uint64_t end = last->has_value() ? (*last)->sequence : 0;
  if (anchor.sequence > end) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the audit trail ends at sequence ", end, ", before the anchor ", anchor.ToString(),
        ": this data directory is older than the last anchor published (restored from an "
        "older copy?) or its newest entries were removed"));
  }
  // Entries are keyed by (time, sequence) with times that never go backwards, so sequence
  // order is key order: binary search on time (in the key's unsigned ordered form, so no
  // arithmetic overflows whatever the keys hold) for the anchor entry's time. At most 64
  // steps; keys out of order just make the search miss.
  uint64_t lo = OrderedFromMicros((*first)->time_micros);
  uint64_t hi = OrderedFromMicros((*last)->time_micros);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(At(snapshot.snapshot()), audit_));
  for (int step = 0; lo < hi && step < 64; ++step) {
    const uint64_t mid = lo + (hi - lo) / 2;
    it->Seek(AuditKey(MicrosFromOrdered(mid + 1), 0));
    uint64_t sequence_after = end + 1;
    if (it->Valid()) {
      std::optional<AuditKeyParts> parts =
          ParseAuditKey(absl::string_view(it->key().data(), it->key().size()));
      if (!parts) return absl::DataLossError("malformed audit key");
      sequence_after = parts->sequence;
    } else if (!it->status().ok()) {
      return FromRocksDb(it->status(), "read audit trail");
    }
    if (anchor.sequence < sequence_after) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  const std::string key = AuditKey(MicrosFromOrdered(lo), anchor.sequence);
  it->Seek(key);
  v1::AuditEntry entry;
  if (!it->Valid() || it->key() != key ||
      !entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
    if (!it->status().ok()) return FromRocksDb(it->status(), "read audit trail");
    return absl::FailedPreconditionError(
        absl::StrCat("audit entry ", anchor.sequence, " of the anchor ", anchor.ToString(),
                     " is missing or unreadable: the trail was changed"));
  }
  if (entry.hash() != anchor.hash) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit entry ", anchor.sequence, " does not match the anchor ",
                     anchor.ToString(), ": the trail was replaced or rolled back and rewritten"));
  }
  return absl::OkStatus();
}

}  // namespace safeguarding::storage
