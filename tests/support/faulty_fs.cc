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

// A written file: a WAL file is failed by both faults (and its syncs pass the gate), any
// other file by the device fault only.
class FaultyWrittenFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWrittenFile(std::unique_ptr<rocksdb::FSWritableFile> file,
                    std::shared_ptr<std::atomic<WalFault>> wal_fault,
                    std::shared_ptr<std::atomic<WalFault>> device_fault,
                    std::shared_ptr<std::atomic<WalFault>> sync_fault,
                    std::shared_ptr<FaultyFileSystem::Gate> sync_gate)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)),
        wal_fault_(std::move(wal_fault)),
        device_fault_(std::move(device_fault)),
        sync_fault_(std::move(sync_fault)),
        sync_gate_(std::move(sync_gate)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Fault("append"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (rocksdb::IOStatus s = Fault("append"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (sync_gate_ != nullptr) sync_gate_->Pass();
    if (rocksdb::IOStatus s = Injected(sync_fault_->load(), "sync"); !s.ok()) return s;
    if (rocksdb::IOStatus s = Fault("sync"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    if (sync_gate_ != nullptr) sync_gate_->Pass();
    if (rocksdb::IOStatus s = Injected(sync_fault_->load(), "sync"); !s.ok()) return s;
    if (rocksdb::IOStatus s = Fault("sync"); !s.ok()) return s;
    return FSWritableFileOwnerWrapper::Fsync(options, dbg);
  }

 private:
  rocksdb::IOStatus Fault(const char* what) const {
    if (rocksdb::IOStatus s = Injected(device_fault_->load(), what); !s.ok()) return s;
    return wal_fault_ != nullptr ? Injected(wal_fault_->load(), what) : rocksdb::IOStatus::OK();
  }

  std::shared_ptr<std::atomic<WalFault>> wal_fault_;  // null: not a WAL file
  std::shared_ptr<std::atomic<WalFault>> device_fault_;
  std::shared_ptr<std::atomic<WalFault>> sync_fault_;
  std::shared_ptr<FaultyFileSystem::Gate> sync_gate_;  // null: not a WAL file
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

void FaultyFileSystem::Gate::Hold(bool hold) {
  absl::MutexLock lock(&mu);
  held = hold;
}

int FaultyFileSystem::Gate::Waiting() {
  absl::MutexLock lock(&mu);
  return waiting;
}

void FaultyFileSystem::HoldTableReads() { gate_->Hold(true); }
void FaultyFileSystem::ReleaseTableReads() { gate_->Hold(false); }
int FaultyFileSystem::table_reads_waiting() const { return gate_->Waiting(); }
void FaultyFileSystem::HoldWalSyncs() { wal_sync_gate_->Hold(true); }
void FaultyFileSystem::ReleaseWalSyncs() { wal_sync_gate_->Hold(false); }
int FaultyFileSystem::wal_syncs_waiting() const { return wal_sync_gate_->Waiting(); }

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
  if (!s.ok()) return s;
  if (absl::EndsWith(name, ".log")) {
    *result = std::make_unique<FaultyWrittenFile>(std::move(*result), wal_fault_, device_fault_,
                                                  sync_fault_, wal_sync_gate_);
  } else {
    *result = std::make_unique<FaultyWrittenFile>(std::move(*result), nullptr, device_fault_,
                                                  sync_fault_, nullptr);
  }
  return s;
}

}  // namespace safeguarding::testing
