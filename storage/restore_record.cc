#include "storage/restore_record.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/audit_anchor.h"
#include "common/digest.h"
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

bool InRange(const google::protobuf::Timestamp& t) {
  constexpr int64_t kLastSecond = 253402300799;  // 9999-12-31T23:59:59Z
  return t.seconds() >= 0 && t.seconds() <= kLastSecond && t.nanos() >= 0 &&
         t.nanos() <= 999'999'999;
}

bool PrintableText(const std::string& text) {
  return text.size() <= kMaxRestoreTextBytes &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// What is out of shape in a record (the fields triagectl writes), or "".
std::string ProblemWith(const triage::v1::BackupRestore& r) {
  uint32_t id = 0;
  if (r.backup_id().empty() || r.backup_id().size() > 10 ||
      !std::all_of(r.backup_id().begin(), r.backup_id().end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(r.backup_id(), &id) || id == 0) {
    return "backup_id is not a backup number";
  }
  if (!r.has_backup_time() || !InRange(r.backup_time())) return "backup_time is out of range";
  if (!r.has_restored_at() || !InRange(r.restored_at())) return "restored_at is out of range";
  if (r.restored_at().seconds() < r.backup_time().seconds()) {
    return "restored_at is before backup_time";
  }
  if (!PrintableText(r.restored_by())) return "restored_by is not short printable text";
  if (!PrintableText(r.anchor_before())) return "anchor_before is not short printable text";
  if (!r.backup_audit_hash().empty() &&
      r.backup_audit_hash().size() != common::AuditAnchorPoint::kHashBytes) {
    return "backup_audit_hash is not a SHA-256 hash";
  }
  if (!r.restored_trail_end_hash().empty() &&
      r.restored_trail_end_hash().size() != common::AuditAnchorPoint::kHashBytes) {
    return "restored_trail_end_hash is not a SHA-256 hash";
  }
  return "";
}

// The sealed fields (1-7, 11, 12), each length-prefixed, so no two records encode alike.
std::string SealedText(const triage::v1::BackupRestore& r) {
  std::string text = kRestoreSealLabel;
  auto add = [&text](absl::string_view field) {
    absl::StrAppend(&text, "|", field.size(), ":", field);
  };
  add(r.backup_id());
  add(absl::StrCat(r.backup_time().seconds(), ".", r.backup_time().nanos()));
  add(absl::StrCat(r.backup_audit_sequence()));
  add(r.restored_by());
  add(absl::StrCat(r.restored_at().seconds(), ".", r.restored_at().nanos()));
  add(r.anchor_before());
  add(r.backup_audit_hash());
  add(absl::StrCat(r.restored_trail_end_sequence()));
  add(r.restored_trail_end_hash());
  return text;
}

}  // namespace

void SealRestoreRecord(const KeyRing& audit_keys, triage::v1::BackupRestore& record) {
  const uint32_t id = audit_keys.current_key_id();
  const std::string key = *audit_keys.DeriveKeyFrom(id, kRestoreSealLabel);
  record.set_seal_key_id(KeyIdHex(id));
  record.set_seal(common::HmacSha256(key, SealedText(record)));
}

absl::Status CheckRestoreSeal(const KeyRing& audit_keys, const triage::v1::BackupRestore& record) {
  if (record.seal().empty()) {
    return absl::FailedPreconditionError(
        "it is not sealed with the audit key (triagectl admin restore seals it)");
  }
  uint32_t id = 0;
  // One spelling only (the bytes are recorded), and only that spelling is ever quoted back:
  // the field is the file's, and the message goes to the log.
  if (record.seal_key_id().size() != 8 || !absl::SimpleHexAtoi(record.seal_key_id(), &id) ||
      record.seal_key_id() != KeyIdHex(id)) {
    return absl::FailedPreconditionError(
        "its seal names no audit key id (8 lowercase hex digits), so it is not in the audit "
        "key file");
  }
  std::optional<std::string> key = audit_keys.DeriveKeyFrom(id, kRestoreSealLabel);
  if (!key) {
    return absl::FailedPreconditionError(absl::StrCat("it is sealed with audit key ", KeyIdHex(id),
                                                      ", which is not in the audit key file"));
  }
  const std::string expected = common::HmacSha256(*key, SealedText(record));
  if (expected.size() != record.seal().size() ||
      CRYPTO_memcmp(expected.data(), record.seal().data(), expected.size()) != 0) {
    return absl::FailedPreconditionError(
        "its seal does not match its fields (altered, or not written by triagectl admin "
        "restore)");
  }
  return absl::OkStatus();
}

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
  std::string problem =
      !ok || !file.record.ParseFromString(file.bytes)
          ? "it must be a regular file of at most 4 KiB owned by the server's user"
          : ProblemWith(file.record);
  if (!problem.empty()) {
    return absl::DataLossError(absl::StrCat(
        "restore record ", path, " cannot be read (", problem,
        "); it is written by triagectl admin restore and removed by the first start after "
        "it: see the restore's output for which backup it was, then remove the file"));
  }
  file.record.DiscardUnknownFields();
  return file;
}

absl::StatusOr<std::string> SetRestoreRecordAside(const std::string& data_dir) {
  const std::string path = PathIn(data_dir);
  const std::string aside = absl::StrCat(
      path, ".unrecorded-", absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone()));
  if (::rename(path.c_str(), aside.c_str()) != 0) return Errno(path, "cannot move aside");
  if (absl::Status synced = common::SyncParentDirectory(aside); !synced.ok()) return synced;
  return aside;
}

absl::Status RemoveRestoreRecord(const std::string& data_dir) {
  const std::string path = PathIn(data_dir);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno(path, "cannot remove");
  return common::SyncParentDirectory(path);
}

}  // namespace safeguarding::storage
