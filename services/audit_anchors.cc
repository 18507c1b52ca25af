#include "services/audit_anchors.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/file_sync.h"
#include "services/log.h"

namespace safeguarding::services {
namespace {

[[nodiscard]] absl::Status FileError(const std::string& path, absl::string_view what) {
  return absl::FailedPreconditionError(
      absl::StrCat("audit anchor file ", path, ": ", what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::optional<storage::AuditAnchorPoint>> ReadAnchorFile(const std::string& path) {
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
  absl::StatusOr<storage::AuditAnchorPoint> anchor = storage::AuditAnchorPoint::Parse(*last);
  if (!anchor.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit anchor file ", path, ": ", anchor.status().message()));
  }
  return *anchor;
}

absl::Status WriteAnchorFile(const std::string& path, const storage::AuditAnchorPoint& anchor) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return FileError(tmp, "cannot create");
  const std::string text = absl::StrCat(
      "# last audit anchor published by triage-server (sequence:hash)\n", anchor.ToString(), "\n");
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status error = FileError(path, "cannot write");
    ::unlink(tmp.c_str());
    return error;
  }
  return common::SyncParentDirectory(path);
}

AuditAnchorPublisher::AuditAnchorPublisher(std::function<storage::AuditAnchorPoint()> head,
                                           std::string anchor_file, absl::Duration interval)
    : head_(std::move(head)), anchor_file_(std::move(anchor_file)), interval_(interval) {}

AuditAnchorPublisher::~AuditAnchorPublisher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AuditAnchorPublisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void AuditAnchorPublisher::Publish(absl::string_view when) {
  absl::MutexLock lock(&mu_);
  PublishLocked(when);
}

void AuditAnchorPublisher::PublishLocked(absl::string_view when) {
  const storage::AuditAnchorPoint anchor = head_();
  Log(Severity::kInfo, "audit anchor %s (%s)", anchor.ToString(), when);
  published_sequence_ = anchor.sequence;
  published_once_ = true;
  if (anchor_file_.empty()) return;
  if (absl::Status written = WriteAnchorFile(anchor_file_, anchor); !written.ok()) {
    Log(Severity::kError, "%s", written.message());
  }
}

void AuditAnchorPublisher::Run() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
    if (stopping_) return;
    if (!published_once_ || head_().sequence != published_sequence_) PublishLocked("periodic");
  }
}

}  // namespace safeguarding::services
