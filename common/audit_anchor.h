// AuditAnchorPoint: a point of the audit chain (a sequence and the hash of that entry)
// recorded outside the data directory, so that an older copy put back is detected. Its text
// form "SEQ:HASH" (the hash as 64 hex digits) is what the server logs and keeps in its
// anchor file and what `triagectl admin verify-audit --anchor` takes. Shared by the store,
// the server and triagectl, which links no storage; so is the anchor file.
#ifndef SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_
#define SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace safeguarding::common {

struct AuditAnchorPoint {
  static constexpr size_t kHashBytes = 32;

  uint64_t sequence = 0;
  std::string hash;  // kHashBytes

  std::string ToString() const;
  // INVALID_ARGUMENT naming what is wrong.
  [[nodiscard]] static absl::StatusOr<AuditAnchorPoint> Parse(absl::string_view text);
};

// The anchor in `path`: its last line that is neither empty nor a comment ("#").
// nullopt if the file does not exist; FAILED_PRECONDITION naming the file if it cannot be
// read or holds no valid anchor.
[[nodiscard]] absl::StatusOr<std::optional<AuditAnchorPoint>> ReadAnchorFile(
    const std::string& path);

// Replaces `path` with `anchor` under a "# `comment`" line (written aside to `path`.tmp,
// created new with mode 0600, fsynced, renamed into place; a `path`.tmp left by a crash is
// removed first). FAILED_PRECONDITION naming the file if it cannot. The server publishes
// its head this way; `triagectl admin restore` writes the head of the backup it restored.
[[nodiscard]] absl::Status WriteAnchorFile(const std::string& path, const AuditAnchorPoint& anchor,
                                           absl::string_view comment);

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_
