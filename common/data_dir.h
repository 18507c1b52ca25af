// The data directory: created if missing, restricted to its owner (mode 0700: the clear
// parts of reports and the audit trail are in it), and locked for one process with flock
// on <dir>/SERVER.lock, so a second server on it fails with a clear message (RocksDB's own
// LOCK gives a cryptic one). Every tool that opens a data directory goes through here.
#ifndef SAFEGUARDING_COMMON_DATA_DIR_H_
#define SAFEGUARDING_COMMON_DATA_DIR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace safeguarding::common {

// FAILED_PRECONDITION "data directory <path>: <why>": how every problem with the directory
// itself is told.
[[nodiscard]] absl::Status DataDirError(absl::string_view path, absl::string_view why);
// The same for another kind of directory ("backup directory <path>: <why>").
[[nodiscard]] absl::Status DirError(absl::string_view kind, absl::string_view path,
                                    absl::string_view why);

// Holds the lock until destroyed. Movable, not copyable.
class DataDirLock {
 public:
  // FAILED_PRECONDITION (DirError with `kind`) if the directory cannot be created,
  // restricted or locked, naming why ("in use by another process" when another holds the
  // lock). A backup directory is locked the same way.
  [[nodiscard]] static absl::StatusOr<DataDirLock> Acquire(
      const std::string& path, absl::string_view kind = "data directory");

  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_DATA_DIR_H_
