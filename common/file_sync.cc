#include "common/file_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"

namespace safeguarding::common {

absl::Status SyncParentDirectory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    if (::fsync(fd) != 0) err = errno;  // read before close can change it
    ::close(fd);
  }
  if (err == 0) return absl::OkStatus();
  return absl::ErrnoToStatus(err,
                             absl::StrCat("directory ", dir, " of ", path, " could not be synced"));
}

}  // namespace safeguarding::common
