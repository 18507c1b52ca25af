// FaultyFileSystem: a RocksDB FileSystem that passes everything through until told to fail
// writes and syncs of the write-ahead log (with an I/O error, or as a full disk) or of every
// file (a failing device), to test how the store answers a disk fault, or to
// hold reads of table (SST) files, to stand for a slow disk read (a cache miss on a large
// store) while a test checks what else still proceeds, or to hold syncs of the
// write-ahead log, to stand for a slow disk under a flood of writes.
#ifndef SAFEGUARDING_TESTS_SUPPORT_FAULTY_FS_H_
#define SAFEGUARDING_TESTS_SUPPORT_FAULTY_FS_H_

#include <atomic>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace safeguarding::testing {

class FaultyFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FaultyFileSystem() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FaultyFileSystem"; }

  // What appends and syncs of WAL files (*.log) do.
  enum class WalFault { kNone, kIoError, kNoSpace };
  // While true, they fail with an I/O error (EIO: the device is failing).
  void set_fail_wal(bool fail) { wal_fault_->store(fail ? WalFault::kIoError : WalFault::kNone); }
  // While true, they fail as on a full disk (ENOSPC).
  void set_wal_disk_full(bool full) {
    wal_fault_->store(full ? WalFault::kNoSpace : WalFault::kNone);
  }
  // While true, appends and syncs of every file opened for writing through NewWritableFile
  // (the WAL, table files, the MANIFEST, the server's probe file) fail with an I/O error:
  // the whole device is failing, not only the log. (RocksDB's info log, directory syncs
  // and files reopened for writing are not failed.)
  void set_fail_device(bool fail) {
    device_fault_->store(fail ? WalFault::kIoError : WalFault::kNone);
  }
  // While true, only their syncs fail (EIO): what was appended may be in the file, though
  // the writer was told it failed.
  void set_fail_device_syncs(bool fail) {
    sync_fault_->store(fail ? WalFault::kIoError : WalFault::kNone);
  }

  // While held, reads of *.sst files wait (table_reads_waiting() counts them) until
  // released.
  void HoldTableReads();
  void ReleaseTableReads();
  int table_reads_waiting() const;
  // While held, syncs of WAL files wait (wal_syncs_waiting() counts them) until released.
  void HoldWalSyncs();
  void ReleaseWalSyncs();
  int wal_syncs_waiting() const;

  rocksdb::IOStatus NewRandomAccessFile(const std::string& name,
                                        const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;

 private:
  std::shared_ptr<std::atomic<WalFault>> wal_fault_ =
      std::make_shared<std::atomic<WalFault>>(WalFault::kNone);
  std::shared_ptr<std::atomic<WalFault>> device_fault_ =
      std::make_shared<std::atomic<WalFault>>(WalFault::kNone);
  std::shared_ptr<std::atomic<WalFault>> sync_fault_ =
      std::make_shared<std::atomic<WalFault>>(WalFault::kNone);

 public:
  // Shared with the files it opens (which may outlive a call).
  struct Gate {
    absl::Mutex mu;
    bool held ABSL_GUARDED_BY(mu) = false;
    int waiting ABSL_GUARDED_BY(mu) = 0;
    void Pass();
    void Hold(bool held);
    int Waiting();
  };

 private:
  std::shared_ptr<Gate> gate_ = std::make_shared<Gate>();  // table reads
  std::shared_ptr<Gate> wal_sync_gate_ = std::make_shared<Gate>();
};

// An Env over a FaultyFileSystem; keep both alive while a store uses them.
struct FaultyEnv {
  std::shared_ptr<FaultyFileSystem> fs = std::make_shared<FaultyFileSystem>();
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
};

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_FAULTY_FS_H_
