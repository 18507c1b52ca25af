#include "storage/report_records.h"

#include <optional>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/db.h"
#include "storage/event_codec.h"
#include "storage/key_encoding.h"
#include "storage/perf_counting.h"
#include "storage/queue_index.h"
#include "storage/report_codec.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {

using common::DeterministicEncoding;
using common::HmacSha256;
using common::Sha256;
namespace {

rocksdb::Slice AsSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

constexpr size_t kFingerprintBytes = 32;

[[nodiscard]] absl::Status ReusedRequestId() {
  return absl::AlreadyExistsError(
      "request_id was already used for a different report; use a new request_id");
}

}  // namespace

v1::Report WorkflowOf(const v1::Report& report) {
  v1::Report workflow;
  workflow.set_state(report.state());
  *workflow.mutable_triage() = report.triage();
  workflow.set_event_count(report.event_count());
  if (report.has_claim()) {
    *workflow.mutable_claim() = report.claim();
    workflow.mutable_claim()->clear_claim_id();
  }
  workflow.set_outcome(report.outcome());
  if (report.has_closed_time()) *workflow.mutable_closed_time() = report.closed_time();
  workflow.set_duplicate_of(report.duplicate_of());
  if (report.has_first_claim_time()) {
    *workflow.mutable_first_claim_time() = report.first_claim_time();
  }
  if (report.has_purge_time()) *workflow.mutable_purge_time() = report.purge_time();
  return workflow;
}

ReportRecords::ReportRecords(Engine& engine, const DataKeys& keys, QueueIndex& queue,
                             std::vector<std::string> fingerprint_keys)
    : engine_(engine), keys_(keys), queue_(queue), fingerprint_keys_(std::move(fingerprint_keys)) {}

ReportRecords::Stripe& ReportRecords::StripeFor(const std::string& request_key) {
  return stripes_[absl::Hash<std::string>{}(request_key) % kStripes];
}

bool ReportRecords::SameFingerprint(absl::string_view stored, absl::string_view raw) const {
  for (const std::string& key : fingerprint_keys_) {
    if (HmacSha256(key, raw) == stored) return true;
  }
  return false;
}

void ReportRecords::Submit(NewReport report, SubmitCallback done) {
  // Only a keyed hash of the content is kept, so the requests family cannot be used to
  // confirm a guessed report offline.
  const std::string raw_fingerprint = std::move(report.fingerprint);
  report.fingerprint = HmacSha256(fingerprint_keys_.front(), raw_fingerprint);
  std::string request_key = RequestKey(report.caller_scope, report.request_id);
  std::optional<absl::Status> refused;
  {
    Stripe& stripe = StripeFor(request_key);
    absl::MutexLock lock(&stripe.mu);
    auto [it, reserved] = stripe.in_flight.try_emplace(request_key);
    if (reserved) {
      it->second.fingerprint = report.fingerprint;
      it->second.callers.push_back(report.liveness);
    } else if (it->second.fingerprint == report.fingerprint) {
      it->second.waiters.push_back(std::move(done));  // answered with the first
      it->second.callers.push_back(std::move(report.liveness));
      return;
    } else {
      refused = ReusedRequestId();
    }
  }
  if (refused) {
    std::move(done)(*std::move(refused));
    return;
  }
  // The reservation is ours: duplicates wait on it while the log is read, without a lock.
  if (std::optional<absl::StatusOr<v1::SubmitReportResponse>> replayed =
          Replay(request_key, raw_fingerprint)) {
    Finish(request_key, *std::move(replayed), std::move(done));
    return;
  }
  Write(std::move(report), std::move(request_key), std::move(done));
}

bool ReportRecords::AnyCallerWaits(const std::string& request_key, absl::Time now) {
  Stripe& stripe = StripeFor(request_key);
  absl::MutexLock lock(&stripe.mu);
  auto it = stripe.in_flight.find(request_key);
  if (it == stripe.in_flight.end()) return true;
  for (const std::shared_ptr<const common::CallLiveness>& caller : it->second.callers) {
    if (caller == nullptr || caller->Wanted(now)) return true;
  }
  return false;
}

std::optional<absl::StatusOr<v1::SubmitReportResponse>> ReportRecords::Replay(
    const std::string& request_key, absl::string_view raw_fingerprint) const {
  StopRocksDbPerfCountingOnThisThread();
  std::string value;
  rocksdb::Status s = engine_.db()->Get(
      rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kRequests), request_key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocksDb(s, "read request record");
  v1::SubmitReportResponse first;
  if (value.size() < kFingerprintBytes ||
      !first.ParseFromArray(value.data() + kFingerprintBytes,
                            static_cast<int>(value.size() - kFingerprintBytes))) {
    return absl::DataLossError("stored request record is corrupt");
  }
  if (!SameFingerprint(absl::string_view(value).substr(0, kFingerprintBytes), raw_fingerprint)) {
    return ReusedRequestId();
  }
  return first;
}

void ReportRecords::Write(NewReport report, std::string request_key, SubmitCallback done) {
  const ReportId id = *ReportId::Parse(report.report.id());
  const v1::TriageAssessment& triage = report.report.triage();
  const QueueEntry entry{
      triage.queue(), static_cast<uint8_t>(triage.priority()),
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(triage.due_time()), id};
  DataKeys::SealingScope sealing(keys_);
  // The report is not needed after it is sealed: moved in, not copied.
  absl::StatusOr<std::string> sealed = SealReport(std::move(report.report), id, sealing.ring());
  if (!sealed.ok()) {
    sealing.Release();
    Finish(request_key, sealed.status(), std::move(done));
    return;
  }
  Mutation m;
  m.Put(ColumnFamily::kReports, std::string(id.bytes()), *std::move(sealed));
  m.Put(ColumnFamily::kEvents, EventKey(id, report.event.sequence()),
        report.event.SerializeAsString());
  QueueIndex::Add(m, entry);
  std::string request_value = std::move(report.fingerprint);
  request_value.append(report.response.SerializeAsString());
  m.Put(ColumnFamily::kRequests, request_key, std::move(request_value));
  m.Audit(std::move(report.audit));
  m.Count(std::move(report.counts));
  if (report.liveness != nullptr) {
    // The key is in the committed callback too; this copy costs one short allocation.
    m.SetWanted([this, request_key](absl::Time now) { return AnyCallerWaits(request_key, now); });
  }

  Committer::Callback committed = [this, entry, request_key = std::move(request_key),
                                   response = std::move(report.response),
                                   done = std::move(done)](absl::Status status) mutable {
    absl::StatusOr<v1::SubmitReportResponse> result = std::move(response);
    if (status.ok()) queue_.ApplyWaiting(entry);  // claimable once durable
    if (!status.ok()) result = std::move(status);
    Finish(request_key, std::move(result), std::move(done));
  };
  absl::Status queued = engine_.committer().Enqueue(m, committed);
  sealing.Release();
  if (!queued.ok()) std::move(committed)(std::move(queued));
}

void ReportRecords::Finish(const std::string& request_key,
                           absl::StatusOr<v1::SubmitReportResponse> result, SubmitCallback done) {
  std::vector<SubmitCallback> waiters;
  {
    Stripe& stripe = StripeFor(request_key);
    absl::MutexLock lock(&stripe.mu);
    auto node = stripe.in_flight.extract(request_key);
    if (!node.empty()) waiters = std::move(node.mapped().waiters);
  }
  if (!waiters.empty() && result.status().code() == absl::StatusCode::kCancelled) {
    // Dropped unwritten because no caller waited when its batch was built; a retry that
    // joined just after that check does wait, and is told to retry, not that it gave up.
    const absl::StatusOr<v1::SubmitReportResponse> retry = absl::UnavailableError(
        "an earlier call with this request_id ended before its report was written: nothing "
        "was stored; retry with the same request_id");
    for (SubmitCallback& waiter : waiters) std::move(waiter)(retry);
  } else {
    for (SubmitCallback& waiter : waiters) std::move(waiter)(result);
  }
  std::move(done)(std::move(result));
}

absl::StatusOr<v1::Report> ReportRecords::Read(const ReportId& id) const {
  absl::StatusOr<v1::Report> report = ReadSubmitted(id);
  if (!report.ok()) return report;
  if (absl::Status applied = ApplyWorkflow(id, *keys_.ring(), *report); !applied.ok()) {
    return applied;
  }
  return report;
}

absl::StatusOr<v1::Report> ReportRecords::ReadSubmitted(const ReportId& id) const {
  StopRocksDbPerfCountingOnThisThread();
  std::string value;
  rocksdb::Status s = engine_.db()->Get(
      rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kReports), AsSlice(id.bytes()), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat("report ", id.ToString(), " not found"));
  }
  if (!s.ok()) return FromRocksDb(s, "read report");
  return OpenReport(value, id, *keys_.ring());
}

absl::Status ReportRecords::ApplyWorkflow(const ReportId& id, const KeyRing& ring,
                                          v1::Report& report) const {
  StopRocksDbPerfCountingOnThisThread();
  std::string value;
  rocksdb::Status s = engine_.db()->Get(
      rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kWorkflow), AsSlice(id.bytes()), &value);
  if (s.IsNotFound()) return absl::OkStatus();  // as submitted
  if (!s.ok()) return FromRocksDb(s, "read workflow record");
  absl::StatusOr<v1::Report> opened = OpenWorkflow(value, id, ring);
  if (!opened.ok()) return opened.status();
  Apply(*opened, report);
  return absl::OkStatus();
}

void ReportRecords::Apply(const v1::Report& workflow, v1::Report& report) {
  v1::Report* out = &report;
  out->set_state(workflow.state());
  *out->mutable_triage() = workflow.triage();
  out->set_event_count(workflow.event_count());
  if (workflow.has_claim()) {
    *out->mutable_claim() = workflow.claim();
  } else {
    out->clear_claim();
  }
  out->set_outcome(workflow.outcome());
  if (workflow.has_closed_time()) *out->mutable_closed_time() = workflow.closed_time();
  out->set_duplicate_of(workflow.duplicate_of());
  if (workflow.has_first_claim_time()) {
    *out->mutable_first_claim_time() = workflow.first_claim_time();
  }
  if (workflow.has_purge_time()) *out->mutable_purge_time() = workflow.purge_time();
}

absl::Status ReportRecords::ScanAll(
    const rocksdb::Snapshot* snapshot,
    absl::FunctionRef<bool(const v1::Report& submitted, const v1::Report& current)> each) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  options.total_order_seek = true;
  options.fill_cache = false;
  options.readahead_size = 2 << 20;
  // Workflow records are keyed by report id too: one pass over each family, side by side.
  std::unique_ptr<rocksdb::Iterator> reports(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kReports)));
  std::unique_ptr<rocksdb::Iterator> workflows(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kWorkflow)));
  std::shared_ptr<const KeyRing> ring = keys_.ring();
  workflows->SeekToFirst();
  for (reports->SeekToFirst(); reports->Valid(); reports->Next()) {
    std::optional<ReportId> id = ReportId::FromBytes(reports->key().ToString());
    if (!id) return absl::DataLossError("malformed report key");
    absl::StatusOr<v1::Report> submitted =
        OpenReport(absl::string_view(reports->value().data(), reports->value().size()), *id, *ring);
    if (!submitted.ok()) return submitted.status();
    while (workflows->Valid() && workflows->key().compare(reports->key()) < 0) workflows->Next();
    v1::Report current = *submitted;
    if (workflows->Valid() && workflows->key() == reports->key()) {
      absl::StatusOr<v1::Report> workflow = OpenWorkflow(
          absl::string_view(workflows->value().data(), workflows->value().size()), *id, *ring);
      if (!workflow.ok()) return workflow.status();
      Apply(*workflow, current);
    }
    if (!each(*submitted, current)) return absl::OkStatus();
  }
  if (!reports->status().ok()) return FromRocksDb(reports->status(), "scan reports");
  return FromRocksDb(workflows->status(), "scan workflow records");
}

absl::StatusOr<ReportListing> ReportRecords::List(const ListQuery& query) const {
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kReports)));
  if (query.after_id) {
    it->SeekForPrev(AsSlice(query.after_id->bytes()));
    if (it->Valid() && it->key() == AsSlice(query.after_id->bytes())) it->Prev();  // exclusive
  } else if (query.received_before) {
    // The first id of that microsecond: every report before it was received earlier.
    std::string bound(ReportId::Generate(*query.received_before).bytes().substr(0, 8));
    bound.append(8, '\0');
    it->SeekForPrev(bound);
    if (it->Valid() && it->key() == bound) it->Prev();
  } else {
    it->SeekToLast();
  }
  std::shared_ptr<const KeyRing> ring = keys_.ring();
  ReportListing listing;
  ReportId last_examined;
  size_t scanned = 0;
  for (; it->Valid(); it->Prev()) {
    std::optional<ReportId> id = ReportId::FromBytes(it->key().ToString());
    if (!id) return absl::DataLossError("malformed report key");
    if (query.received_after && id->time() <= *query.received_after) break;  // newest first
    if (listing.reports.size() == query.page_size || scanned++ == query.max_scanned) {
      listing.next_page_token = absl::BytesToHexString(last_examined.bytes());
      break;
    }
    last_examined = *id;
    absl::StatusOr<v1::Report> report =
        OpenReport(absl::string_view(it->value().data(), it->value().size()), *id, *ring);
    if (!report.ok()) return report.status();
    if (absl::Status applied = ApplyWorkflow(*id, *ring, *report); !applied.ok()) return applied;
    if (query.received_before && id->time() >= *query.received_before) continue;
    if (!query.match(*report)) continue;
    // A listing carries no contents: read those one report at a time (audited).
    report->mutable_submission()->clear_description();
    report->mutable_submission()->mutable_reporter()->clear_contact();
    listing.reports.push_back(*std::move(report));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "list reports");
  return listing;
}

void ReportRecords::Change(ReportChange change, Committer::Callback done) {
  Mutation m = std::move(change.index_writes);
  DataKeys::SealingScope sealing(keys_);
  if (change.submitted) {
    absl::StatusOr<std::string> sealed =
        SealReport(*std::move(change.submitted), change.id, sealing.ring());
    if (!sealed.ok()) {
      sealing.Release();
      std::move(done)(sealed.status());
      return;
    }
    m.Put(ColumnFamily::kReports, std::string(change.id.bytes()), *std::move(sealed));
  }
  for (const v1::ReportEvent& event : change.events) {
    const std::string key = EventKey(change.id, event.sequence());
    absl::StatusOr<std::string> sealed = SealEvent(event, key, sealing.ring());
    if (!sealed.ok()) {
      sealing.Release();
      std::move(done)(sealed.status());
      return;
    }
    m.Put(ColumnFamily::kEvents, key, *std::move(sealed));
  }
  absl::StatusOr<std::string> workflow = SealWorkflow(change.workflow, change.id, sealing.ring());
  if (!workflow.ok()) {
    sealing.Release();
    std::move(done)(workflow.status());
    return;
  }
  m.Put(ColumnFamily::kWorkflow, std::string(change.id.bytes()), *std::move(workflow));
  for (v1::AuditEntry& entry : change.audits) m.Audit(std::move(entry));
  m.Count(std::move(change.counts));
  m.SetWanted(std::move(change.liveness));
  // Queued under the sealing scope, so a rotation's re-encryption comes after it; a
  // refusal to queue is answered only once the scope is released (the answer may start
  // the next change of the report, which seals again).
  absl::Status queued = engine_.committer().Enqueue(m, done);
  sealing.Release();
  if (!queued.ok()) std::move(done)(std::move(queued));
}

namespace {

// Source ids live in the requests family under a scope no principal can have (principal
// names have no ':'), so they never meet a submission's request id.
std::string ImportKey(absl::string_view source_id) {
  return RequestKey("import:source", source_id);
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReportRecords::ImportedId(
    absl::string_view source_id) const {
  std::string value;
  rocksdb::Status s =
      engine_.db()->Get(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kRequests),
                        ImportKey(source_id), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocksDb(s, "read import record");
  return std::optional<std::string>(std::move(value));
}

namespace {

// The sealed records of an import (report, workflow and event records), sealed with `ring`.
[[nodiscard]] absl::Status SealImported(const std::vector<ImportedRecord>& records,
                                        const KeyRing& ring, Mutation& m) {
  for (const ImportedRecord& r : records) {
    const ReportId id = *ReportId::Parse(r.report.id());
    absl::StatusOr<std::string> sealed = SealReport(r.report, id, ring);
    if (!sealed.ok()) return sealed.status();
    m.Put(ColumnFamily::kReports, std::string(id.bytes()), *std::move(sealed));
    if (r.decided) {
      absl::StatusOr<std::string> workflow = SealWorkflow(WorkflowOf(*r.decided), id, ring);
      if (!workflow.ok()) return workflow.status();
      m.Put(ColumnFamily::kWorkflow, std::string(id.bytes()), *std::move(workflow));
    }
    for (const v1::ReportEvent& event : r.events) {
      std::string key = EventKey(id, event.sequence());
      absl::StatusOr<std::string> e = SealEvent(event, key, ring);
      if (!e.ok()) return e.status();
      m.Put(ColumnFamily::kEvents, std::move(key), *std::move(e));
    }
  }
  return absl::OkStatus();
}

}  // namespace

void ReportRecords::Import(std::vector<ImportedRecord> records, Committer::Callback done) {
  // Sealed first without holding the ring (an import runs at a low CPU priority, and a
  // rotation waiting for a held scope would stall every writer); then, under the scope,
  // queued at once unless a rotation swapped the ring meanwhile, when it is sealed again.
  const std::shared_ptr<const KeyRing> ring = keys_.ring();
  Mutation m;
  absl::Status sealed = SealImported(records, *ring, m);
  DataKeys::SealingScope sealing(keys_);
  if (sealed.ok() && &sealing.ring() != ring.get()) {
    m = Mutation();
    sealed = SealImported(records, sealing.ring(), m);
  }
  if (!sealed.ok()) {
    sealing.Release();
    std::move(done)(std::move(sealed));
    return;
  }
  std::vector<QueueEntry> entries;
  for (ImportedRecord& r : records) {
    if (!r.decided) {
      const v1::TriageAssessment& triage = r.report.triage();
      entries.push_back(
          {triage.queue(), static_cast<uint8_t>(triage.priority()),
           google::protobuf::util::TimeUtil::TimestampToMicroseconds(triage.due_time()),
           *ReportId::Parse(r.report.id())});
      QueueIndex::Add(m, entries.back());
    }
    m.Put(ColumnFamily::kRequests, ImportKey(r.source_id), r.report.id());
    m.Audit(std::move(r.audit));
    m.Count(std::move(r.counts));
  }
  Committer::Callback committed = [this, entries = std::move(entries),
                                   done = std::move(done)](absl::Status status) mutable {
    if (status.ok()) {
      for (const QueueEntry& e : entries) queue_.ApplyWaiting(e);  // claimable once durable
    }
    std::move(done)(std::move(status));
  };
  absl::Status queued = engine_.committer().Enqueue(m, committed);
  sealing.Release();
  if (!queued.ok()) std::move(committed)(std::move(queued));
}

absl::StatusOr<std::string> ReportRecords::ScanWorkflows(
    absl::string_view from, size_t limit,
    absl::FunctionRef<void(const ReportId& id, const v1::Report& workflow)> each) const {
  rocksdb::ReadOptions options;
  options.fill_cache = false;  // a pass over every record would evict what reads need
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(options, engine_.handle(ColumnFamily::kWorkflow)));
  std::shared_ptr<const KeyRing> ring = keys_.ring();
  size_t seen = 0;
  for (it->Seek(AsSlice(from)); it->Valid(); it->Next()) {
    if (seen++ == limit) return it->key().ToString();
    std::optional<ReportId> id = ReportId::FromBytes(it->key().ToString());
    if (!id) return absl::DataLossError("malformed workflow key");
    absl::StatusOr<v1::Report> workflow =
        OpenWorkflow(absl::string_view(it->value().data(), it->value().size()), *id, *ring);
    if (!workflow.ok()) {
      return absl::Status(workflow.status().code(),
                          absl::StrCat("workflow record of report ", id->ToString(), ": ",
                                       workflow.status().message()));
    }
    each(*id, *workflow);
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "scan workflow records");
  return std::string();
}

absl::Status ReportRecords::CompactContents(const std::vector<IdRange>& ranges,
                                            std::atomic<bool>* canceled,
                                            absl::Duration snapshot_wait) {
  rocksdb::DB* db = engine_.db();
  // A snapshot older than the overwrite keeps the old values through any compaction: wait
  // (a while, and not past a stop) for the ones taken before it (a verification, a recount).
  const rocksdb::SequenceNumber written = db->GetLatestSequenceNumber();
  const absl::Time give_up = absl::Now() + snapshot_wait;
  uint64_t oldest = 0;
  while (db->GetIntProperty(rocksdb::DB::Properties::kOldestSnapshotSequence, &oldest) &&
         oldest != 0 && oldest <= written && absl::Now() < give_up &&
         !(canceled != nullptr && canceled->load())) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  // Every family first: a write-ahead log file is deleted only once no family's memtable
  // holds anything from it, and the logs hold the old contents too.
  rocksdb::Status s = db->Flush(rocksdb::FlushOptions(), engine_.handles());
  if (!s.ok()) return FromRocksDb(s, "flush before compaction");
  rocksdb::CompactRangeOptions options;
  // Rewrite the bottom level too: that is where the old versions of old reports lie.
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  options.canceled = canceled;
  for (const IdRange& range : ranges) {
    const std::string begin(range.first.bytes());
    const std::string end_report(range.last.bytes());
    // Event keys are the report id and a sequence: the range ends after the last id's.
    const std::string end_events = end_report + std::string(9, '\xff');
    rocksdb::Slice begin_slice(begin), end_slice(end_report), events_end(end_events);
    s = db->CompactRange(options, engine_.handle(ColumnFamily::kReports), &begin_slice, &end_slice);
    if (s.ok()) {
      s = db->CompactRange(options, engine_.handle(ColumnFamily::kEvents), &begin_slice,
                           &events_end);
    }
    if (!s.ok()) return FromRocksDb(s, "compact purged reports");
  }
  return absl::OkStatus();
}

namespace {

// In meta: the id ranges a purge has yet to compact, each the first and last id's bytes.
constexpr char kCompactionOwedKey[] = "purge_compaction_owed";

}  // namespace

absl::StatusOr<std::vector<ReportRecords::IdRange>> ReportRecords::CompactionOwed() const {
  std::string value;
  rocksdb::Status s = engine_.db()->Get(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kMeta),
                                        kCompactionOwedKey, &value);
  if (s.IsNotFound()) return std::vector<IdRange>();
  if (!s.ok()) return FromRocksDb(s, "read the compaction a purge owes");
  constexpr size_t kPair = 2 * ReportId::kBytes;
  if (value.size() % kPair != 0) {
    return absl::DataLossError("the compaction a purge owes is unreadable (meta)");
  }
  std::vector<IdRange> ranges;
  for (size_t at = 0; at < value.size(); at += kPair) {
    std::optional<ReportId> first =
        ReportId::FromBytes(absl::string_view(value).substr(at, ReportId::kBytes));
    std::optional<ReportId> last = ReportId::FromBytes(
        absl::string_view(value).substr(at + ReportId::kBytes, ReportId::kBytes));
    if (!first || !last) {
      return absl::DataLossError("the compaction a purge owes is unreadable (meta)");
    }
    ranges.push_back({.first = *first, .last = *last});
  }
  return ranges;
}

absl::Status ReportRecords::SetCompactionOwed(const std::vector<IdRange>& ranges) {
  Mutation m;
  if (ranges.empty()) {
    m.Delete(ColumnFamily::kMeta, kCompactionOwedKey);
  } else {
    std::string value;
    for (const IdRange& range : ranges)
      absl::StrAppend(&value, range.first.bytes(), range.last.bytes());
    m.Put(ColumnFamily::kMeta, kCompactionOwedKey, std::move(value));
  }
  return engine_.committer().CommitAndWait(std::move(m));
}

absl::StatusOr<std::vector<v1::ReportEvent>> ReportRecords::ReadEvents(const ReportId& id) const {
  std::vector<v1::ReportEvent> events;
  std::unique_ptr<rocksdb::Iterator> it(
      engine_.db()->NewIterator(rocksdb::ReadOptions(), engine_.handle(ColumnFamily::kEvents)));
  std::shared_ptr<const KeyRing> ring = keys_.ring();
  for (it->Seek(AsSlice(id.bytes())); it->Valid() && it->key().starts_with(AsSlice(id.bytes()));
       it->Next()) {
    absl::StatusOr<v1::ReportEvent> event =
        OpenEvent(absl::string_view(it->value().data(), it->value().size()),
                  absl::string_view(it->key().data(), it->key().size()), *ring);
    if (!event.ok()) {
      return absl::Status(event.status().code(), absl::StrCat("event of report ", id.ToString(),
                                                              ": ", event.status().message()));
    }
    events.push_back(*std::move(event));
  }
  if (!it->status().ok()) return FromRocksDb(it->status(), "read events");
  return events;
}

}  // namespace safeguarding::storage
