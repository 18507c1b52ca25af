#include "storage/report_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
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

absl::StatusOr<AuditHead> ReadAuditHead(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* meta) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), meta, kAuditHeadKey, &value);
  if (s.IsNotFound()) return AuditHead();
  if (!s.ok()) return FromRocksDb(s, "read audit head");
  std::optional<AuditHead> head = AuditHead::Decode(value);
  if (!head) return absl::DataLossError("audit head record is corrupt");
  return *head;
}

constexpr char kFingerprintKeyLabel[] = "safeguarding request fingerprint v1";

}  // namespace

absl::StatusOr<std::unique_ptr<ReportStore>> ReportStore::Open(const StoreOptions& options) {
  if (options.key_file.empty()) {
    return absl::FailedPreconditionError("an encryption key file is required (--key_file)");
  }
  absl::StatusOr<KeyRing> keys = KeyRing::LoadFile(options.key_file);
  if (!keys.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("key file: ", keys.status().message()));
  }
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

  absl::Status schema =
      CheckSchema(db.get(), handles[static_cast<int>(ColumnFamily::kMeta)], options.path);
  if (schema.ok()) {
    schema = CheckCurrentKey(db.get(), handles[static_cast<int>(ColumnFamily::kMeta)], *keys,
                             options.key_file);
  }
  absl::StatusOr<AuditHead> head =
      schema.ok() ? ReadAuditHead(db.get(), handles[static_cast<int>(ColumnFamily::kMeta)])
                  : absl::StatusOr<AuditHead>(schema);
  if (!head.ok()) {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    db.reset();
    ::close(*lock_fd);
    return schema.ok() ? OpenError(options.path, head.status().message()) : schema;
  }
  return std::unique_ptr<ReportStore>(
      new ReportStore(options.path, *lock_fd, std::move(db), std::move(handles), options.commit,
                      *std::move(head), options.key_file, *std::move(keys)));
}

ReportStore::ReportStore(std::string path, int lock_fd, std::unique_ptr<rocksdb::DB> db,
                         std::vector<rocksdb::ColumnFamilyHandle*> handles, CommitterOptions commit,
                         AuditHead audit_head, std::string key_file, const KeyRing& keys)
    : path_(std::move(path)),
      lock_fd_(lock_fd),
      key_file_(std::move(key_file)),
      audit_key_(keys.DeriveKey(kAuditChainKeyLabel)),
      fingerprint_key_(keys.DeriveKey(kFingerprintKeyLabel)),
      keys_(std::make_shared<const KeyRing>(keys)),
      db_(std::move(db)),
      handles_(std::move(handles)) {
  committer_ = std::make_unique<Committer>(db_.get(), handles_, std::move(commit),
                                           std::move(audit_head), audit_key_);
}

ReportStore::~ReportStore() {
  committer_.reset();  // commits and acknowledges everything pending first
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  rocksdb::Status s = db_->Close();
  (void)s;  // nothing left to tell: every acknowledged write was already synced
  db_.reset();
  ::close(lock_fd_);
}

void ReportStore::SubmitNewReport(NewReport report, SubmitCallback done) {
  // Only a keyed hash of the content is kept, so the requests family cannot be used to
  // confirm a guessed report offline.
  report.fingerprint = HmacSha256(fingerprint_key_, report.fingerprint);
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
        } else if (value.compare(0, kFingerprintBytes, report.fingerprint) == 0) {
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
  absl::StatusOr<std::string> sealed = SealReport(report.report, id, *keys());
  if (!sealed.ok()) {
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

  committer_->Commit(std::move(m), [this, request_key = std::move(request_key),
                                    response = std::move(report.response),
                                    done = std::move(done)](absl::Status status) mutable {
    absl::StatusOr<v1::SubmitReportResponse> result = std::move(response);
    if (!status.ok()) result = std::move(status);
    FinishSubmit(request_key, std::move(result), std::move(done));
  });
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
