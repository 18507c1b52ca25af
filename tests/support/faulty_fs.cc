#include "tests/support/faulty_fs.h"

#include "absl/strings/match.h"

namespace safeguarding::testing {
namespace {

using WalFault = FaultyFileSystem::WalFault;

rocksdb::IOStatus Injected(WalFault fault, const char* what) {
  switch (fault) {
    case WalFault::kNone:
      return rocksdb::IOStatus::OK();
    case WalFault::kIoError:
      return rocksdb::IOStatus::IOError("injected WAL failure", what);
    case WalFault::kNoSpace:
      return rocksdb::IOStatus::NoSpace("injected full disk", what);
  }
  return rocksdb::IOStatus::OK();
}

class FaultyWalFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWalFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                std::shared_ptr<std::atomic<WalFault>> fault)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fault_(std::move(fault)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Injected(fault_->load(), "append"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Injected(fault_->load(), "append"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Injected(fault_->load(), "sync"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Injected(fault_->load(), "sync"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  std::shared_ptr<std::atomic<WalFault>> fault_;
};

class GatedTableFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  GatedTableFile(std::unique_ptr<rocksdb::FSRandomAccessFile> file,
                 std::shared_ptr<FaultyFileSystem::Gate> gate)
      : rocksdb::FSRandomAccessFileOwnerWrapper(std::move(file)), gate_(std::move(gate)) {}

  rocksdb::IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options,
                         rocksdb::Slice* result, char* scratch,
                         rocksdb::IODebugContext* dbg) const override {
    gate_->Pass();
    return FSRandomAccessFileOwnerWrapper::Read(offset, n, options, result, scratch, dbg);
  }
  rocksdb::IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs,
                              const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    gate_->Pass();
    return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, num_reqs, options, dbg);
  }

 private:
  std::shared_ptr<FaultyFileSystem::Gate> gate_;
};

}  // namespace

void FaultyFileSystem::Gate::Pass() {
  absl::MutexLock lock(&mu);
  ++waiting;
  mu.Await(absl::Condition(
      +[](Gate* g) ABSL_EXCLUSIVE_LOCKS_REQUIRED(g->mu) { return !g->held; }, this));
  --waiting;
}

void FaultyFileSystem::HoldTableReads() {
  absl::MutexLock lock(&gate_->mu);
  gate_->held = true;
}

void FaultyFileSystem::ReleaseTableReads() {
  absl::MutexLock lock(&gate_->mu);
  gate_->held = false;
}

int FaultyFileSystem::table_reads_waiting() const {
  absl::MutexLock lock(&gate_->mu);
  return gate_->waiting;
}

rocksdb::IOStatus FaultyFileSystem::NewRandomAccessFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSRandomAccessFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewRandomAccessFile(name, options, result, dbg);
  if (s.ok() && absl::EndsWith(name, ".sst")) {
    *result = std::make_unique<GatedTableFile>(std::move(*result), gate_);
  }
  return s;
}

rocksdb::IOStatus FaultyFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
  if (s.ok() && absl::EndsWith(name, ".log")) {
    *result = std::make_unique<FaultyWalFile>(std::move(*result), wal_fault_);
  }
  return s;
}

}  // namespace safeguarding::testing
