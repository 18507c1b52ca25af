// Committer: group commit on one thread.
//
// gRPC 1.51 runs callback handlers on very few threads, so a handler must never wait for
// fsync. Handlers hand their Mutation to Commit() and return at once; the committer thread
// takes everything pending, appends it to one WriteBatch, writes it with sync=true, and
// then runs each mutation's callback with the outcome. Many RPCs therefore share one fsync,
// and a callback runs only once its writes are durable.
//
// Audit entries in a mutation are chained here, on the single writer thread: each gets the
// next sequence number, a commit time that never goes backwards, the previous entry's hash
// and its own, and the batch also stores the new chain head in meta, signed
// (audit_chain.h).
//
// Guarantees: callbacks run on the committer thread, exactly once, with OK only after the
// synced write succeeded; the changes written are written, and answered, in submission
// order. A change whose caller has given up by the time its batch is built
// (Mutation::SetWanted) is answered CANCELLED and never written, before the written changes
// of its batch are answered: under a flood, the disk's time goes to calls that can still be
// answered. After a failed write
// every mutation of that batch gets the error (none of it is visible), and the next batch first
// asks RocksDB to resume writing. Errors RocksDB can recover from (e.g. a full disk that was
// cleared) then heal in place. An I/O error on a WAL append or sync cannot: RocksDB 7.8 holds
// it as fatal and refuses to resume, so writes keep failing with UNAVAILABLE, while reads go
// on, until the database is reopened; once the disk takes a synced write again the committer
// says so (CommitterOptions::on_reopen_needed) and the owner reopens the store. The
// destructor commits what is pending, then joins the thread. Commit() is thread-safe.
#ifndef SAFEGUARDING_STORAGE_COMMITTER_H_
#define SAFEGUARDING_STORAGE_COMMITTER_H_

#include <atomic>
#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/audit_chain.h"
#include "storage/mutation.h"

namespace safeguarding::storage {

struct CommitterOptions {
  // Most mutations in one synced batch. 1 disables grouping (one fsync per change), which
  // exists only so benchmarks can show what grouping buys.
  size_t max_batch = 1024;
  // Most changes waiting for the committer; beyond it Commit() answers RESOURCE_EXHAUSTED
  // at once, so a flood cannot grow memory without bound.
  size_t max_pending = 1 << 17;
  // Called on the committer thread when writing starts failing (false, with the error) or
  // works again (true), so the server can tell its health checks. Optional.
  std::function<void(bool writable, const std::string& why)> on_writable_change;
  // Batches are refused (UNAVAILABLE, nothing written) while the file system holds fewer
  // free bytes than this, so the disk never fills under RocksDB: a write-ahead-log append
  // that failed for lack of space cannot be resumed in-process with RocksDB 7.8. 0: no
  // check. `free_bytes` tells the free bytes (the engine passes statvfs of the data
  // directory; tests a fake).
  uint64_t min_free_bytes = 0;
  std::function<absl::StatusOr<uint64_t>()> free_bytes;
  // While writes fail, how often the committer tries by itself (free space, Resume, and a
  // small synced write) so that it heals without waiting for a client's write.
  absl::Duration probe_interval = absl::Seconds(1);
  // Called at most once per committer, on its thread, when RocksDB refuses to resume after
  // an I/O error it holds as fatal (on a WAL append or sync) although the disk works again
  // (a probe file in the database's directory was written and synced through its file
  // system, at most once per probe_interval): only closing and reopening the database
  // clears that (services/supervised_server.h). Never for an unrecoverable error
  // (corruption), which a reopen would meet again. Optional; it must return quickly (the
  // committer does not wait for the reopen).
  std::function<void(const std::string& why)> on_reopen_needed;
  // Time source for audit entries (never goes backwards in the trail: see Committer).
  std::function<absl::Time()> now = [] { return absl::Now(); };
  // Called on the committer thread after each synced write that succeeded, with how many
  // changes it made durable and how long the write with its fsync took (for metrics).
  // Optional; it must return quickly, since the next batch waits for it.
  std::function<void(size_t changes, absl::Duration sync)> on_batch_synced;
  // Called on the committer thread with how many changes it dropped unwritten because
  // nobody waited for them any more (Mutation::SetWanted). Optional; must return quickly.
  std::function<void(size_t dropped)> on_dropped;
  // The crash campaign's negative control only (tests/crash, a server binary built there):
  // batches skip the write-ahead log, so changes are acknowledged before they are durable
  // and a SIGKILL loses them. No flag of the real server sets it.
  bool negative_control_skip_wal = false;
};

class Committer {
 public:
  using Callback = absl::AnyInvocable<void(absl::Status) &&>;

  // `db` and `handles` (indexed by ColumnFamily) must outlive the committer. `audit_head`
  // is where the audit chain continues (its key_id names the audit key); `chain_key` is
  // that key's chain key, which keys the entries' HMACs and signs the head.
  Committer(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
            CommitterOptions options, AuditHead audit_head, std::string chain_key);
  ~Committer();

  Committer(const Committer&) = delete;
  Committer& operator=(const Committer&) = delete;

  // Queues `mutation`; `done` runs on the committer thread once it is durable or failed.
  // When too many changes are waiting, `done` runs at once, on the caller's thread, with
  // RESOURCE_EXHAUSTED.
  void Commit(Mutation mutation, Callback done);
  // As Commit, but waits on the caller's thread for the outcome (for background work and
  // start-up, never a handler thread).
  [[nodiscard]] absl::Status CommitAndWait(Mutation mutation);
  // As Commit, but when too many changes are waiting answers RESOURCE_EXHAUSTED and leaves
  // `mutation` and `done` untouched (they are moved from only when queued), so a caller
  // holding a lock can answer after releasing it.
  [[nodiscard]] absl::Status Enqueue(Mutation& mutation, Callback& done);

  // A read-modify-write that must not race other writers (e.g. re-encrypting stored
  // records): `compute` runs on the committer thread after everything queued before it is
  // committed and before anything queued after it, reads what it needs, and returns the
  // mutation to write in its own batch. An error from `compute` is passed to `done`.
  using Compute = absl::AnyInvocable<absl::StatusOr<Mutation>() &&>;
  void CommitComputed(Compute compute, Callback done);

  // The end of the audit chain as last made durable. Thread-safe.
  AuditHead committed_audit_head() const;

  // How long the oldest change still waiting for a batch has waited (zero when none
  // waits): past what clients will wait, new work should be refused rather than queued.
  // Thread-safe and lock-free (one atomic load and a clock read).
  absl::Duration backlog() const;

 private:
  struct Pending {
    Mutation mutation;
    Callback done;
    Compute compute;          // set for CommitComputed: runs alone, in order
    int64_t enqueued_us = 0;  // when it was queued (Unix microseconds)
  };
  // Queues `p` at the back (mu_ held); the first to wait sets oldest_us_.
  void PushPending(Pending p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  void Run();
  // Answers CANCELLED, unwritten, the changes of `group` nobody waits for any more, and
  // removes them (the rest keep their order).
  void DropUnwanted(std::vector<Pending>& group);
  // Builds and writes one batch; on success `head` is the new end of the audit chain.
  rocksdb::Status WriteGroup(std::vector<Pending>& group, AuditHead& head);
  // NoSpace while fewer than min_free_bytes are free.
  rocksdb::Status CheckFreeSpace() const;
  // After a failure: whether writing works again (Resume, free space, a synced write).
  rocksdb::Status Probe();
  // db_->Resume(); when RocksDB refuses for good but the disk takes a synced file again,
  // asks for the database to be reopened (on_reopen_needed).
  rocksdb::Status Resume();
  // Writes, syncs and deletes a small file next to the database, through its file system.
  rocksdb::Status ProbeDisk() const;
  // Tells the server when writability changes.
  void SetWritable(const rocksdb::Status& s);
  // The counts of every change of `group`, added up per key: one merge operand each.
  rocksdb::Status AppendCounts(const std::vector<Pending>& group, rocksdb::WriteBatch& batch);

  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const CommitterOptions options_;

  absl::Mutex mu_;
  std::deque<Pending> pending_ ABSL_GUARDED_BY(mu_);
  // pending_.front()'s enqueued_us, 0 when nothing waits; written under mu_, read without.
  std::atomic<int64_t> oldest_us_{0};
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Only touched by the committer thread.
  bool write_failed_ = false;
  bool reopen_asked_ = false;
  absl::Time last_disk_probe_ = absl::InfinitePast();
  AuditHead audit_head_;
  const std::string chain_key_;

  mutable absl::Mutex head_mu_;
  AuditHead committed_head_ ABSL_GUARDED_BY(head_mu_);

  std::thread thread_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_COMMITTER_H_
