#include "storage/committer.h"

#include <utility>

#include "rocksdb/write_batch.h"
#include "storage/rocksdb_status.h"

namespace safeguarding::storage {
namespace {

CommitterOptions Normalized(CommitterOptions options) {
  if (options.max_batch == 0) options.max_batch = 1;
  return options;
}

}  // namespace

Committer::Committer(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
                     CommitterOptions options)
    : db_(db), handles_(std::move(handles)), options_(Normalized(options)) {
  thread_ = std::thread([this] { Run(); });
}

Committer::~Committer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void Committer::Commit(Mutation mutation, Callback done) {
  absl::MutexLock lock(&mu_);
  pending_.push_back(Pending{std::move(mutation), std::move(done)});
}

rocksdb::Status Committer::WriteGroup(const std::vector<Pending>& group) {
  rocksdb::WriteBatch batch;
  for (const Pending& p : group) {
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
  rocksdb::WriteOptions write_options;
  write_options.sync = options_.sync;
  return db_->Write(write_options, &batch);
}

void Committer::Run() {
  std::vector<Pending> group;
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](Committer* c)
               ABSL_SHARED_LOCKS_REQUIRED(c->mu_) { return c->stopping_ || !c->pending_.empty(); },
          this));
      if (pending_.empty()) return;  // stopping, and everything is committed
      while (!pending_.empty() && group.size() < options_.max_batch) {
        group.push_back(std::move(pending_.front()));
        pending_.pop_front();
      }
    }
    // After a failed write RocksDB refuses further writes until resumed; try to resume
    // (it succeeds once the disk is healthy again) rather than fail forever.
    rocksdb::Status s = write_failed_ ? db_->Resume() : rocksdb::Status::OK();
    if (s.ok()) s = WriteGroup(group);
    write_failed_ = !s.ok();
    absl::Status status = FromRocksDb(s, "commit batch");
    for (Pending& p : group) std::move(p.done)(status);
    group.clear();
  }
}

}  // namespace safeguarding::storage
