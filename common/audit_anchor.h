// AuditAnchorPoint: a point of the audit chain (a sequence and the hash of that entry)
// recorded outside the data directory, so that an older copy put back is detected. Its text
// form "SEQ:HASH" (the hash as 64 hex digits) is what the server logs and keeps in its
// anchor file and what `triagectl admin verify-audit --anchor` takes. Shared by the store,
// the server and triagectl, which links no storage.
#ifndef SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_
#define SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_

#include <cstdint>
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

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_AUDIT_ANCHOR_H_
