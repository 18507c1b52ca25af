#include "common/audit_anchor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_sync.h"

namespace safeguarding::common {
namespace {

[[nodiscard]] absl::Status FileError(const std::string& path, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("audit anchor file ", path, ": ", what, ": ", std::strerror(errno)));
}

// Creates `tmp` (mode 0600) for writing, never opening a file already there (nor following
// a link); one that is there was left by a write cut short (a crash between create and
// rename), so it is removed and the create tried once more. -1 with errno set if either
// fails.
int CreateExclusive(const std::string& tmp) {
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
  const int fd = ::open(tmp.c_str(), kFlags, 0600);
  if (fd >= 0 || errno != EEXIST) return fd;
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return -1;
  return ::open(tmp.c_str(), kFlags, 0600);
}

}  // namespace

absl::StatusOr<std::optional<AuditAnchorPoint>> ReadAnchorFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec)
      return absl::FailedPreconditionError(
          absl::StrCat("audit anchor file ", path, ": ", ec.message()));
    return std::nullopt;
  }
  std::ifstream in(path);
  if (!in) return FileError(path, "cannot read");
  std::stringstream text;
  text << in.rdbuf();
  std::optional<std::string> last;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    last = std::string(line);
  }
  if (!last) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit anchor file ", path, " holds no anchor (a line SEQ:HASH)"));
  }
  absl::StatusOr<AuditAnchorPoint> anchor = AuditAnchorPoint::Parse(*last);
  if (!anchor.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit anchor file ", path, ": ", anchor.status().message()));
  }
  return *anchor;
}

absl::Status WriteAnchorFile(const std::string& path, const AuditAnchorPoint& anchor,
                             absl::string_view comment) {
  const std::string tmp = path + ".tmp";
  int fd = CreateExclusive(tmp);
  if (fd < 0) return FileError(tmp, "cannot create");
  const std::string text =
      absl::StrCat("# ", comment, " (sequence:hash)\n", anchor.ToString(), "\n");
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status error = FileError(path, "cannot write");
    ::unlink(tmp.c_str());
    return error;
  }
  return SyncParentDirectory(path);
}

std::string AuditAnchorPoint::ToString() const {
  return absl::StrCat(sequence, ":", absl::BytesToHexString(hash));
}

absl::StatusOr<AuditAnchorPoint> AuditAnchorPoint::Parse(absl::string_view text) {
  const size_t colon = text.find(':');
  AuditAnchorPoint anchor;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(0, colon), &anchor.sequence) || anchor.sequence == 0) {
    return absl::InvalidArgumentError(
        "anchor: expected SEQUENCE:HASH with a sequence of 1 or more, as the server logs it "
        "(\"audit anchor 1234:9f86d0...\")");
  }
  absl::string_view hex = text.substr(colon + 1);
  if (hex.size() != 2 * kHashBytes ||
      hex.find_first_not_of("0123456789abcdefABCDEF") != absl::string_view::npos) {
    return absl::InvalidArgumentError("anchor: the hash must be 64 hex digits");
  }
  anchor.hash = absl::HexStringToBytes(hex);
  return anchor;
}

}  // namespace safeguarding::common
