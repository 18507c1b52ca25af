#include "storage/report_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "storage/digest.h"
#include "storage/report_codec.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

constexpr char kSchemaVersionKey[] = "schema_version";
constexpr size_t kFingerprintBytes = 32;

absl::Status OpenError(const std::string& path, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat("data directory ", path, ": ", why));
}

// Takes an exclusive advisory lock on <path>/SERVER.lock so a second server on the same
// data directory fails with a clear message (RocksDB's own LOCK gives a cryptic one).
absl::StatusOr<int> LockDataDir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return OpenError(path, absl::StrCat("cannot create: ", ec.message()));
  // Only the server's user may enter: the clear parts of reports and the audit trail
  // (staff names, addresses) are in here.
  std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return OpenError(path, absl::StrCat("cannot restrict to mode 0700: ", ec.message()));
  std::string lock_path = path + "/SERVER.lock";
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return OpenError(path, absl::StrCat("cannot open lock file: ", strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return OpenError(path, "in use by another process (is another server running on it?)");
    }
    return OpenError(path, absl::StrCat("cannot lock: ", strerror(err)));
  }
  return fd;
}

absl::Status CheckSchema(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta,
                         const std::string& path) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kSchemaVersionKey, &value);
  if (s.IsNotFound()) {
    std::string encoded;
    PutFixed32BE(&encoded, kSchemaVersion);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocksDb(db->Put(wo, meta, kSchemaVersionKey, encoded), "write schema version");
  }
  if (!s.ok()) return FromRocksDb(s, "read schema version");
  absl::string_view in(value);
  std::optional<uint32_t> version = GetFixed32BE(&in);
  if (!version) return OpenError(path, "schema version record is corrupt");
  if (*version > kSchemaVersion) {
    return OpenError(path, absl::StrCat("written by a newer version (schema ", *version,
                                        ", this build reads up to ", kSchemaVersion, ")"));
  }
  return absl::OkStatus();
}

constexpr char kLegacyFingerprintKeyIdKey[] = "legacy_fingerprint_key_id";

// Loads the audit key file; its keys must not be data keys.
absl::StatusOr<KeyRing> LoadAuditKeys(const StoreOptions& options, const KeyRing& data_keys) {
  if (options.audit_key_file.empty()) {
    return absl::FailedPreconditionError("an audit key file is required (--audit_key_file)");
  }
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(options.audit_key_file);
  if (absl::IsNotFound(ring.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit key file ", options.audit_key_file,
        " does not exist; create one, apart from the data key file, with: (umask 077; head "
        "-c 32 /dev/urandom > ",
        options.audit_key_file, ")"));
  }
  if (!ring.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("audit key file: ", ring.status().message()));
  }
  for (uint32_t id : ring->key_ids()) {
    if (data_keys.HasKey(id)) {
      return absl::FailedPreconditionError(
          absl::StrCat("audit key file ", options.audit_key_file, " holds data key ", KeyIdHex(id),
                       " of ", options.key_file, "; the audit chain needs a key of its own"));
    }
  }
  return ring;
}

// True if any report, event, queue entry or request record exists.
absl::StatusOr<bool> HoldsData(rocksdb::DB* db,
                               const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
  for (ColumnFamily family : {ColumnFamily::kReports, ColumnFamily::kEvents, ColumnFamily::kQueue,
                              ColumnFamily::kRequests}) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), handles[static_cast<int>(family)]));
    it->SeekToFirst();
    if (it->Valid()) return true;
    if (!it->status().ok()) return FromRocksDb(it->status(), "scan for data");
  }
  return false;
}

absl::StatusOr<std::optional<uint32_t>> ReadLegacyFingerprintKeyId(
    rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kLegacyFingerprintKeyIdKey, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "read legacy fingerprint key id");
  absl::string_view in(value);
  std::optional<uint32_t> id = GetFixed32BE(&in);
  if (!id) return absl::DataLossError("legacy fingerprint key id record is corrupt");
  return *id;
}

}  // namespace

struct ReportStore::Parts {
  std::string path;
  int lock_fd;
  std::string key_file;
  CommitterOptions commit;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  KeyRing keys;
  std::vector<uint32_t> keys_in_use;
  KeyRing audit_keys;
  AuditOpenPlan plan;
  std::optional<uint32_t> legacy_fingerprint_key_id;
};

absl::StatusOr<std::unique_ptr<ReportStore>> ReportStore::Open(const StoreOptions& options) {
  if (options.key_file.empty()) {
    return absl::FailedPreconditionError("an encryption key file is required (--key_file)");
  }
  absl::StatusOr<KeyRing> keys = KeyRing::LoadFile(options.key_file);
  if (!keys.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("key file: ", keys.status().message()));
  }
  absl::StatusOr<KeyRing> audit_keys = LoadAuditKeys(options, *keys);
  if (!audit_keys.ok()) return audit_keys.status();
  absl::StatusOr<int> lock_fd = LockDataDir(options.path);
  if (!lock_fd.ok()) return lock_fd.status();

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.keep_log_file_num = 5;
  db_options.max_log_file_size = 16 << 20;
  if (options.env != nullptr) db_options.env = options.env;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (std::string_view name : kColumnFamilyNames) {
    descriptors.emplace_back(std::string(name), rocksdb::ColumnFamilyOptions());
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &handles, &raw_db);
  if (!s.ok()) {
    ::close(*lock_fd);
    return OpenError(options.path, absl::StrCat("cannot open database: ", s.ToString()));
  }
  std::unique_ptr<rocksdb::DB> db(raw_db);
  // handles[0] is "default"; ours follow in ColumnFamily order.
  db->DestroyColumnFamilyHandle(handles[0]);
  handles.erase(handles.begin());
  rocksdb::ColumnFamilyHandle* meta = handles[static_cast<int>(ColumnFamily::kMeta)];

  auto fail = [&](const absl::Status& status) {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db.reset();
    ::close(*lock_fd);
    return status;
  };
  if (absl::Status schema = CheckSchema(db.get(), meta, options.path); !schema.ok()) {
    return fail(schema);
  }
  const AuditKeys audit(*audit_keys);
  absl::StatusOr<std::vector<uint32_t>> in_use =
      CheckDataKeys(db.get(), meta, *keys, options.key_file, audit);
  if (!in_use.ok()) return fail(in_use.status());
  absl::StatusOr<bool> has_data = HoldsData(db.get(), handles);
  if (!has_data.ok()) return fail(has_data.status());
  absl::StatusOr<std::optional<uint32_t>> legacy_id = ReadLegacyFingerprintKeyId(db.get(), meta);
  if (!legacy_id.ok()) return fail(legacy_id.status());
  const AuditTrail trail(db.get(), handles[static_cast<int>(ColumnFamily::kAudit)], meta, audit);
  absl::StatusOr<AuditOpenPlan> plan =
      trail.PlanOpen({.data_keys = *keys,
                      .store_has_data = *has_data,
                      .migrate = options.migrate_audit_trail,
                      .opened_by_this_version = legacy_id->has_value()});
  if (!plan.ok()) {
    return fail(absl::Status(plan.status().code(), absl::StrCat("data directory ", options.path,
                                                                ": ", plan.status().message())));
  }
  // Checked before anything is written, so a refused start leaves the directory as it was.
  if (options.audit_anchor) {
    if (absl::Status on_chain = trail.CheckAnchor(*options.audit_anchor); !on_chain.ok()) {
      return fail(absl::Status(on_chain.code(),
                               absl::StrCat("audit anchor ", options.audit_anchor->ToString(), ": ",
                                            on_chain.message())));
    }
  }
  if (plan->migrating) *legacy_id = keys->oldest_key_id();

  const bool migrating = plan->migrating;
  std::unique_ptr<ReportStore> store(new ReportStore(
      Parts{options.path, *lock_fd, options.key_file, options.commit, std::move(db),
            std::move(handles), *keys, *std::move(in_use), *audit_keys, *plan, *legacy_id}));
  store->audit_anchor_checked_ = options.audit_anchor;
  if (absl::Status written = store->CommitOpenPlan(*plan, migrating ? *legacy_id : std::nullopt);
      !written.ok()) {
    return OpenError(options.path,
                     absl::StrCat("cannot write the audit trail: ", written.message()));
  }
  return store;
}

ReportStore::ReportStore(Parts parts)
    : path_(std::move(parts.path)),
      lock_fd_(parts.lock_fd),
      key_file_(std::move(parts.key_file)),
      audit_problem_at_open_(parts.plan.problem),
      migrated_audit_at_open_(parts.plan.migrating),
      keys_(std::make_shared<const KeyRing>(parts.keys)),
      keys_in_use_(std::move(parts.keys_in_use)),
      db_(std::move(parts.db)),
      handles_(std::move(parts.handles)) {
  AuditKeys audit_keys(parts.audit_keys);
  fingerprint_keys_ = audit_keys.fingerprint_keys();
  if (parts.legacy_fingerprint_key_id) {
    std::optional<std::string> legacy =
        parts.keys.DeriveKeyFrom(*parts.legacy_fingerprint_key_id, kLegacyFingerprintKeyLabel);
    if (legacy) fingerprint_keys_.push_back(*std::move(legacy));
  }
  keys_record_key_ = audit_keys.current_chain_key();
  AuditHead start = parts.plan.start;
  start.key_id = audit_keys.current_id();
  std::string chain_key = audit_keys.current_chain_key();
  audit_ = std::make_unique<AuditTrail>(db_.get(), handle(ColumnFamily::kAudit),
                                        handle(ColumnFamily::kMeta), std::move(audit_keys));
  committer_ = std::make_unique<Committer>(db_.get(), handles_, std::move(parts.commit),
                                           std::move(start), std::move(chain_key));
}

absl::Status ReportStore::CommitOpenPlan(const AuditOpenPlan& plan,
                                         std::optional<uint32_t> legacy_key_id) {
  if (plan.to_append.empty()) return absl::OkStatus();
  Mutation m;
  for (const v1::AuditEntry& entry : plan.to_append) m.Audit(entry);
  if (legacy_key_id) {
    std::string encoded;
    PutFixed32BE(&encoded, *legacy_key_id);
    m.Put(ColumnFamily::kMeta, kLegacyFingerprintKeyIdKey, std::move(encoded));
  }
  absl::Notification done;
  absl::Status status;
  committer_->Commit(std::move(m), [&](absl::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

AuditAnchorPoint ReportStore::committed_audit_anchor() const {
  AuditHead head = committer_->committed_audit_head();
  return AuditAnchorPoint{head.sequence, std::move(head.hash)};
}

ReportStore::~ReportStore() {
  committer_.reset();  // commits and acknowledges everything pending first
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  rocksdb::Status s = db_->Close();
  (void)s;  // nothing left to tell: every acknowledged write was already synced
  db_.reset();
  ::close(lock_fd_);
}

void ReportStore::RecordAudit(v1::AuditEntry entry,
                              absl::AnyInvocable<void(absl::Status) &&> done) {
  Mutation m;
  m.Audit(std::move(entry));
  committer_->Commit(std::move(m), std::move(done));
}

bool ReportStore::SameFingerprint(absl::string_view stored, absl::string_view raw) const {
  for (const std::string& key : fingerprint_keys_) {
    if (HmacSha256(key, raw) == stored) return true;
  }
  return false;
}

void ReportStore::SubmitNewReport(NewReport report, SubmitCallback done) {
  // Only a keyed hash of the content is kept, so the requests family cannot be used to
  // confirm a guessed report offline.
  const std::string raw_fingerprint = std::move(report.fingerprint);
  report.fingerprint = HmacSha256(fingerprint_keys_.front(), raw_fingerprint);
  std::string request_key = RequestKey(report.caller_scope, report.request_id);
  std::optional<absl::StatusOr<v1::SubmitReportResponse>> early;  // known without a write
  {
    absl::MutexLock lock(&requests_mu_);
    if (auto it = in_flight_.find(request_key); it != in_flight_.end()) {
      if (it->second.fingerprint == report.fingerprint) {
        it->second.waiters.push_back(std::move(done));
        return;
      }
      early = absl::AlreadyExistsError(
          "request_id was already used for a different report; use a new request_id");
    } else {
      std::string value;
      rocksdb::Status s =
          db_->Get(rocksdb::ReadOptions(), handle(ColumnFamily::kRequests), request_key, &value);
      if (s.ok()) {
        v1::SubmitReportResponse first;
        if (value.size() < kFingerprintBytes ||
            !first.ParseFromArray(value.data() + kFingerprintBytes,
                                  static_cast<int>(value.size() - kFingerprintBytes))) {
          early = absl::DataLossError("stored request record is corrupt");
        } else if (SameFingerprint(absl::string_view(value).substr(0, kFingerprintBytes),
                                   raw_fingerprint)) {
          early = std::move(first);
        } else {
          early = absl::AlreadyExistsError(
              "request_id was already used for a different report; use a new request_id");
        }
      } else if (!s.IsNotFound()) {
        early = FromRocksDb(s, "read request record");
      } else {
        in_flight_[request_key].fingerprint = report.fingerprint;
      }
    }
  }
  if (early.has_value()) {
    std::move(done)(*std::move(early));
    return;
  }

  ReportId id = *ReportId::Parse(report.report.id());
  // Sealed and queued under the shared key lock (see keys_mu_); callbacks run after it.
  keys_mu_.ReaderLock();
  absl::StatusOr<std::string> sealed = SealReport(report.report, id, *keys_);
  if (!sealed.ok()) {
    keys_mu_.ReaderUnlock();
    FinishSubmit(request_key, sealed.status(), std::move(done));
    return;
  }
  Mutation m;
  m.Put(ColumnFamily::kReports, id.bytes(), *std::move(sealed));
  m.Put(ColumnFamily::kEvents, EventKey(id, report.event.sequence()),
        report.event.SerializeAsString());
  const v1::TriageAssessment& triage = report.report.triage();
  m.Put(ColumnFamily::kQueue,
        QueueKey(triage.queue(), static_cast<uint8_t>(triage.priority()),
                 google::protobuf::util::TimeUtil::TimestampToMicroseconds(triage.due_time()), id),
        "");
  std::string request_value = report.fingerprint;
  request_value.append(report.response.SerializeAsString());
  m.Put(ColumnFamily::kRequests, request_key, std::move(request_value));
  m.Audit(std::move(report.audit));

  Committer::Callback committed = [this, request_key = std::move(request_key),
                                   response = std::move(report.response),
                                   done = std::move(done)](absl::Status status) mutable {
    absl::StatusOr<v1::SubmitReportResponse> result = std::move(response);
    if (!status.ok()) result = std::move(status);
    FinishSubmit(request_key, std::move(result), std::move(done));
  };
  absl::Status queued = committer_->Enqueue(m, committed);
  keys_mu_.ReaderUnlock();
  if (!queued.ok()) std::move(committed)(std::move(queued));
}

void ReportStore::FinishSubmit(const std::string& request_key,
                               absl::StatusOr<v1::SubmitReportResponse> result,
                               SubmitCallback done) {
  std::vector<SubmitCallback> waiters;
  {
    absl::MutexLock lock(&requests_mu_);
    auto node = in_flight_.extract(request_key);
    if (!node.empty()) waiters = std::move(node.mapped().waiters);
  }
  for (SubmitCallback& waiter : waiters) std::move(waiter)(result);
  std::move(done)(std::move(result));
}

absl::StatusOr<v1::Report> ReportStore::ReadReport(const ReportId& id) const {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), handle(ColumnFamily::kReports), id.bytes(), &value);
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat("report ", id.ToString(), " not found"));
  if (!s.ok()) return FromRocksDb(s, "read report");
  return OpenReport(value, id, *keys());
}

absl::StatusOr<std::vector<v1::ReportEvent>> ReportStore::ReadEvents(const ReportId& id) const {
  std::vector<v1::ReportEvent> events;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handle(ColumnFamily::kEvents)));
  for (it->Seek(id.bytes()); it->Valid() && it->key().starts_with(id.bytes()); it->Next()) {
    v1::ReportEvent event;
    if (!event.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("event of report ", id.ToString(), " is corrupt"));
    }
    events.push_back(std::move(event));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "read events");
  return events;
}

absl::Status ReportStore::ScanQueueIndex(
    absl::FunctionRef<void(const QueueKeyParts&)> visit) const {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), handle(ColumnFamily::kQueue)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::optional<QueueKeyParts> parts =
        ParseQueueKey(absl::string_view(it->key().data(), it->key().size()));
    if (!parts) return absl::DataLossError("malformed queue index key");
    visit(*parts);
  }
  return FromRocksDb(it->status(), "scan queue index");
}

}  // namespace safeguarding::storage
