#include "common/audit_anchor.h"

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace safeguarding::common {

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
