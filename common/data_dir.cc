#include "common/data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"

namespace safeguarding::common {

absl::Status DirError(absl::string_view kind, absl::string_view path, absl::string_view why) {
  return absl::FailedPreconditionError(absl::StrCat(kind, " ", path, ": ", why));
}

absl::Status DataDirError(absl::string_view path, absl::string_view why) {
  return DirError("data directory", path, why);
}

absl::StatusOr<DataDirLock> DataDirLock::Acquire(const std::string& path, absl::string_view kind) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return DirError(kind, path, absl::StrCat("cannot create: ", ec.message()));
  std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ec);
  if (ec) return DirError(kind, path, absl::StrCat("cannot restrict to mode 0700: ", ec.message()));
  const std::string lock_path = path + "/SERVER.lock";
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return DirError(kind, path, absl::StrCat("cannot open lock file: ", std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return DirError(kind, path, "in use by another process (is a server running on it?)");
    }
    return DirError(kind, path, absl::StrCat("cannot lock: ", std::strerror(err)));
  }
  return DataDirLock(fd);
}

DataDirLock::DataDirLock(DataDirLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DataDirLock& DataDirLock::operator=(DataDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DataDirLock::~DataDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

}  // namespace safeguarding::common
