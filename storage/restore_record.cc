#include "storage/restore_record.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/file_sync.h"

namespace safeguarding::storage {
namespace {

std::string PathIn(const std::string& data_dir) {
  return absl::StrCat(data_dir, "/", kRestoreRecordFile);
}

[[nodiscard]] absl::Status Errno(const std::string& path, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("restore record ", path, ": ", what, ": ", std::strerror(errno)));
}

}  // namespace

absl::Status WriteRestoreRecord(const std::string& data_dir,
                                const triage::v1::BackupRestore& record) {
  const std::string path = PathIn(data_dir);
  const std::string bytes = record.SerializeAsString();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Errno(path, "cannot create");
  bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok) return Errno(path, "cannot write");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<RestoreRecordFile>> ReadRestoreRecord(const std::string& data_dir) {
  // A record is a few hundred bytes, written by triagectl as the server's user. Anything
  // else (a link, a FIFO that would hang the start, a huge file) is refused unread.
  constexpr off_t kMaxRecordBytes = 4096;
  const std::string path = PathIn(data_dir);
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    return Errno(path, "cannot open (it must be a regular file, not a link)");
  }
  struct stat st;
  std::string bytes;
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
            st.st_size <= kMaxRecordBytes;
  if (ok) {
    bytes.resize(static_cast<size_t>(st.st_size));
    ok = ::read(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
  }
  ::close(fd);
  RestoreRecordFile file{.bytes = std::move(bytes)};
  if (!ok || !file.record.ParseFromString(file.bytes) || file.record.backup_id().empty()) {
    return absl::DataLossError(absl::StrCat(
        "restore record ", path,
        " cannot be read (it must be a regular file of at most 4 KiB owned by the server's "
        "user); it is written by triagectl admin restore and removed by the first start "
        "after it (see the restore's output for which backup it was, then remove it)"));
  }
  file.record.DiscardUnknownFields();
  return file;
}

absl::Status RemoveRestoreRecord(const std::string& data_dir) {
  const std::string path = PathIn(data_dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno(path, "cannot remove");
  return common::SyncParentDirectory(path);
}

}  // namespace safeguarding::storage
