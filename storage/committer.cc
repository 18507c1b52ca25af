#include "storage/committer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/types/span.h"
#include "google/protobuf/util/time_util.h"
#include "rocksdb/file_system.h"
#include "rocksdb/write_batch.h"
#include "storage/counter_cells.h"
#include "storage/key_encoding.h"
#include "storage/perf_counting.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

// Written (empty) by the probe that checks whether writes work again.
constexpr char kWriteProbeKey[] = "write_probe";

CommitterOptions Normalized(CommitterOptions options) {
  if (options.max_batch == 0) options.max_batch = 1;
  return options;
}

}  // namespace

Committer::Committer(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
                     CommitterOptions options, AuditHead audit_head, std::string chain_key)
    : db_(db),
      handles_(std::move(handles)),
      options_(Normalized(std::move(options))),
      audit_head_(audit_head),
      chain_key_(std::move(chain_key)),
      committed_head_(std::move(audit_head)) {
  thread_ = std::thread([this] {
    StopRocksDbPerfCountingOnThisThread();  // a group commit makes thousands of comparisons
    Run();
  });
}

Committer::~Committer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

absl::Status Committer::CommitAndWait(Mutation mutation) {
  absl::Notification done;
  absl::Status outcome;
  Commit(std::move(mutation), [&](absl::Status s) {
    outcome = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  return outcome;
}

absl::Status Committer::Enqueue(Mutation& mutation, Callback& done) {
  absl::MutexLock lock(&mu_);
  if (pending_.size() >= options_.max_pending) {
    return absl::ResourceExhaustedError("too many changes waiting to be written");
  }
  PushPending(Pending{std::move(mutation), std::move(done), nullptr});
  return absl::OkStatus();
}

void Committer::PushPending(Pending p) {
  p.enqueued_us = absl::ToUnixMicros(absl::Now());
  if (pending_.empty()) oldest_us_.store(p.enqueued_us, std::memory_order_relaxed);
  pending_.push_back(std::move(p));
}

absl::Duration Committer::backlog() const {
  const int64_t oldest = oldest_us_.load(std::memory_order_relaxed);
  if (oldest == 0) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(), absl::Now() - absl::FromUnixMicros(oldest));
}

void Committer::Commit(Mutation mutation, Callback done) {
  if (absl::Status queued = Enqueue(mutation, done); !queued.ok()) {
    std::move(done)(std::move(queued));
  }
}

AuditHead Committer::committed_audit_head() const {
  absl::MutexLock lock(&head_mu_);
  return committed_head_;
}

void Committer::CommitComputed(Compute compute, Callback done) {
  absl::MutexLock lock(&mu_);
  PushPending(Pending{Mutation(), std::move(done), std::move(compute)});
}

rocksdb::Status Committer::AppendCounts(const std::vector<Pending>& group,
                                        rocksdb::WriteBatch& batch) {
  // Per (key, index), read in place from the mutations, the sum of its deltas; one operand
  // each. A count key nearly always has one index in a batch (the hour), so a second
  // operand for it (a batch across an hour's end) is rare; a decision's duration histograms
  // (wait, time to decision) get one operand per bucket their batch's decisions fall in.
  size_t cells_in_group = 0;
  for (const Pending& p : group) cells_in_group += p.mutation.counts().size();
  absl::flat_hash_map<std::pair<absl::string_view, uint16_t>, uint64_t> cells;
  // A batch of submits shares most of its keys (about 2 distinct per submit of 12 cells).
  cells.reserve(cells_in_group / 4 + 16);
  for (const Pending& p : group) {
    for (const CellCounts::Cell c : p.mutation.counts()) cells[{c.key, c.index}] += c.delta;
  }
  for (const auto& [cell, delta] : cells) {
    const std::pair<uint16_t, uint64_t> addition{cell.second, delta};
    rocksdb::Status s = batch.Merge(handles_[static_cast<int>(ColumnFamily::kStatistics)],
                                    rocksdb::Slice(cell.first.data(), cell.first.size()),
                                    CounterOperand(absl::MakeConstSpan(&addition, 1)));
    if (!s.ok()) return s;
  }
  return rocksdb::Status::OK();
}

rocksdb::Status Committer::WriteGroup(std::vector<Pending>& group, AuditHead& head) {
  rocksdb::WriteBatch batch;
  bool audited = false;
  for (Pending& p : group) {
    // In place: a batch that fails is answered with its error and its mutations dropped.
    for (v1::AuditEntry& entry : p.mutation.mutable_audits()) {
      head.sequence += 1;
      head.time_micros = std::max(head.time_micros, absl::ToUnixMicros(options_.now()));
      entry.set_sequence(head.sequence);
      *entry.mutable_time() =
          google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(head.time_micros);
      entry.set_previous_hash(head.hash);
      head.hash = AuditEntryHash(entry, chain_key_);
      entry.set_hash(head.hash);
      const std::string key = AuditKey(head.time_micros, head.sequence);
      rocksdb::Status s = batch.Put(handles_[static_cast<int>(ColumnFamily::kAudit)], key,
                                    entry.SerializeAsString());
      if (!s.ok()) return s;
      if (!entry.report_id().empty()) {  // "who has read or changed this report?"
        s = batch.Put(handles_[static_cast<int>(ColumnFamily::kAuditByReport)],
                      AuditByReportKey(entry.report_id(), key), "");
        if (!s.ok()) return s;
      }
      audited = true;
    }
    for (const Mutation::Write& w : p.mutation.writes()) {
      rocksdb::ColumnFamilyHandle* cf = handles_[static_cast<int>(w.family)];
      rocksdb::Status s;
      switch (w.op) {
        case Mutation::Op::kPut:
          s = batch.Put(cf, w.key, w.value);
          break;
        case Mutation::Op::kMerge:
          s = batch.Merge(cf, w.key, w.value);
          break;
        case Mutation::Op::kDelete:
          s = batch.Delete(cf, w.key);
          break;
      }
      if (!s.ok()) return s;
    }
  }
  if (rocksdb::Status s = AppendCounts(group, batch); !s.ok()) return s;
  if (audited) {
    rocksdb::Status s = batch.Put(handles_[static_cast<int>(ColumnFamily::kMeta)], kAuditHeadKey,
                                  EncodeSignedHead(head, chain_key_));
    if (!s.ok()) return s;
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;  // acknowledged only once the WAL is on disk
  if (options_.negative_control_skip_wal) {
    write_options.sync = false;
    write_options.disableWAL = true;
  }
  const auto started = std::chrono::steady_clock::now();
  rocksdb::Status written = db_->Write(write_options, &batch);
  if (written.ok() && options_.on_batch_synced) {
    options_.on_batch_synced(group.size(),
                             absl::FromChrono(std::chrono::steady_clock::now() - started));
  }
  return written;
}

rocksdb::Status Committer::CheckFreeSpace() const {
  if (options_.min_free_bytes == 0 || !options_.free_bytes) return rocksdb::Status::OK();
  absl::StatusOr<uint64_t> free = options_.free_bytes();
  if (!free.ok())
    return rocksdb::Status::IOError("free space", std::string(free.status().message()));
  if (*free >= options_.min_free_bytes) return rocksdb::Status::OK();
  return rocksdb::Status::NoSpace(absl::StrCat(
      "disk nearly full: ", *free >> 20, " MB free, below the ", options_.min_free_bytes >> 20,
      " MB kept free (--min_free_disk_mb); writes resume by themselves once there is room"));
}

rocksdb::Status Committer::Resume() {
  rocksdb::Status s = db_->Resume();
  // Below fatal (e.g. a full disk, a hard error), RocksDB resumes by itself or on a later
  // call once the cause is gone. A fatal I/O error stays until the database is reopened.
  // Worse (unrecoverable: corruption, data loss) a reopen would meet again: that needs an
  // operator, not a loop of reopens.
  if (s.ok() || s.severity() != rocksdb::Status::Severity::kFatalError || !s.IsIOError() ||
      reopen_asked_ || !options_.on_reopen_needed) {
    return s;
  }
  const absl::Time now = absl::Now();
  if (now - last_disk_probe_ < options_.probe_interval) return s;
  last_disk_probe_ = now;
  if (!ProbeDisk().ok()) return s;  // the device still fails: a reopen would fail too
  reopen_asked_ = true;
  options_.on_reopen_needed(s.ToString());
  return s;
}

rocksdb::Status Committer::ProbeDisk() const {
  rocksdb::FileSystem* fs = db_->GetFileSystem();
  const std::string path = db_->GetName() + "/DISK_PROBE";
  rocksdb::IOOptions io;
  // Removed first, so that a link planted under that name is never followed (the file is
  // opened with create and truncate); the directory is the service user's alone (0700).
  if (rocksdb::IOStatus stale = fs->DeleteFile(path, io, nullptr);
      !stale.ok() && !stale.IsNotFound() && !stale.IsPathNotFound()) {
    return stale;
  }
  std::unique_ptr<rocksdb::FSWritableFile> file;
  rocksdb::IOStatus s = fs->NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr);
  if (s.ok()) s = file->Append("probe", io, nullptr);
  if (s.ok()) s = file->Sync(io, nullptr);
  if (file != nullptr) {
    rocksdb::IOStatus closed = file->Close(io, nullptr);
    if (s.ok()) s = closed;
  }
  // Deleted whatever happened, so the directory holds only the database's own files.
  rocksdb::IOStatus deleted = fs->DeleteFile(path, io, nullptr);
  if (s.ok() && !deleted.ok() && !deleted.IsNotFound()) s = deleted;
  return s;
}

rocksdb::Status Committer::Probe() {
  rocksdb::Status s = Resume();
  if (s.ok()) s = CheckFreeSpace();
  if (!s.ok()) return s;
  rocksdb::WriteOptions write_options;
  write_options.sync = true;
  rocksdb::WriteBatch probe;
  s = probe.Put(handles_[static_cast<int>(ColumnFamily::kMeta)], kWriteProbeKey, "");
  if (s.ok()) s = db_->Write(write_options, &probe);
  return s;
}

void Committer::SetWritable(const rocksdb::Status& s) {
  if (write_failed_ != !s.ok() && options_.on_writable_change) {
    options_.on_writable_change(s.ok(), s.ok() ? std::string() : s.ToString());
  }
  write_failed_ = !s.ok();
}

void Committer::DropUnwanted(std::vector<Pending>& group) {
  // Real time, not options_.now (the audit's clock, a fake one in tests): deadlines are
  // the clients' wall-clock times.
  const absl::Time now = absl::Now();
  size_t kept = 0;
  std::vector<Pending> dropped;
  for (Pending& p : group) {
    if (p.mutation.Wanted(now)) {
      if (&group[kept] != &p) group[kept] = std::move(p);
      ++kept;
    } else {
      dropped.push_back(std::move(p));
    }
  }
  if (dropped.empty()) return;
  group.resize(kept);
  for (Pending& p : dropped) {
    std::move(p.done)(absl::CancelledError(
        "the call ended (cancelled, or its deadline passed) before its change was written: "
        "nothing was stored; a client still waiting retries with the same request_id"));
  }
  if (options_.on_dropped) options_.on_dropped(dropped.size());
}

void Committer::Run() {
  std::vector<Pending> group;
  for (;;) {
    bool computed = false;
    {
      absl::MutexLock lock(&mu_);
      const absl::Condition work(
          +[](Committer* c)
               ABSL_SHARED_LOCKS_REQUIRED(c->mu_) { return c->stopping_ || !c->pending_.empty(); },
          this);
      if (!write_failed_) {
        mu_.Await(work);
      } else if (!mu_.AwaitWithTimeout(work, options_.probe_interval)) {
        // Nothing to write while writes fail: see whether they work again, so that health
        // returns to SERVING without waiting for a client (who may be routed elsewhere).
        mu_.Unlock();
        SetWritable(Probe());
        mu_.Lock();
        continue;
      }
      if (pending_.empty()) return;  // stopping, and everything is committed
      // A computed change goes alone, so it reads everything committed before it.
      computed = pending_.front().compute != nullptr;
      do {
        group.push_back(std::move(pending_.front()));
        pending_.pop_front();
      } while (!computed && !pending_.empty() && pending_.front().compute == nullptr &&
               group.size() < options_.max_batch);
      oldest_us_.store(pending_.empty() ? 0 : pending_.front().enqueued_us,
                       std::memory_order_relaxed);
    }
    if (!computed) DropUnwanted(group);
    if (group.empty()) continue;
    if (computed) {
      absl::StatusOr<Mutation> mutation = std::move(group[0].compute)();
      if (!mutation.ok()) {
        std::move(group[0].done)(mutation.status());
        group.clear();
        continue;
      }
      group[0].mutation = *std::move(mutation);
    }
    // After a failed write RocksDB refuses further writes until resumed; try to resume
    // (it succeeds once the disk is healthy again) rather than fail forever.
    rocksdb::Status s = write_failed_ ? Resume() : rocksdb::Status::OK();
    if (s.ok()) s = CheckFreeSpace();
    AuditHead head = audit_head_;
    if (s.ok()) s = WriteGroup(group, head);
    SetWritable(s);
    if (s.ok() && head.sequence != audit_head_.sequence) {
      audit_head_ = std::move(head);  // a failed batch leaves no trace in the chain
      absl::MutexLock lock(&head_mu_);
      committed_head_ = audit_head_;
    }
    absl::Status status = FromRocksDb(s, "commit batch");
    for (Pending& p : group) std::move(p.done)(status);
    group.clear();
  }
}

}  // namespace safeguarding::storage
