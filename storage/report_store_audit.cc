// ReportStore: the audit trail (append, read, verify). See audit_chain.h for the chain.
#include "absl/strings/escaping.h"
#include "rocksdb/db.h"
#include "storage/report_store.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr size_t kMaxAuditPage = 1000;
// A filter that rarely matches must not scan the whole trail in one call: a page ends
// after this many entries were looked at, with a token to go on.
constexpr size_t kMaxScannedPerPage = 50000;

}  // namespace

void ReportStore::RecordAudit(v1::AuditEntry entry,
                              absl::AnyInvocable<void(absl::Status) &&> done) {
  Mutation m;
  m.Audit(std::move(entry));
  committer_->Commit(std::move(m), std::move(done));
}

absl::StatusOr<AuditPage> ReportStore::ReadAuditLog(const AuditQuery& query) const {
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

  AuditPage page;
  size_t scanned = 0;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handle(ColumnFamily::kAudit)));
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

absl::StatusOr<AuditVerification> ReportStore::VerifyAuditLog() const {
  std::string head_value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handle(ColumnFamily::kMeta), kAuditHeadKey, &head_value);
  AuditHead head;
  if (s.ok()) {
    std::optional<AuditHead> decoded = AuditHead::Decode(head_value);
    if (!decoded) return AuditVerification{false, 0, 0, "audit head record is corrupt"};
    head = *decoded;
  } else if (!s.IsNotFound()) {
    return FromRocksDb(s, "read audit head");
  }

  AuditChainVerifier verifier(audit_key_);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handle(ColumnFamily::kAudit)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<AuditKeyParts> parts =
        ParseAuditKey(absl::string_view(it->key().data(), it->key().size()));
    v1::AuditEntry entry;
    if (!parts || !entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return AuditVerification{false, verifier.checked(), verifier.checked() + 1,
                               "an audit record cannot be decoded"};
    }
    verifier.Add(entry, parts->time_micros, parts->sequence);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "verify audit log");
  verifier.Finish(head);
  AuditVerification result;
  result.intact = verifier.intact();
  result.entries_checked = verifier.checked();
  if (!result.intact) {
    result.first_bad_sequence = verifier.first_bad_sequence();
    result.problem = verifier.problem();
  }
  return result;
}

}  // namespace safeguarding::storage
