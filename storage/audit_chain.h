// The audit hash chain.
//
// Each AuditEntry carries the hash of its predecessor (32 zero bytes for the first) and its
// own hash: HMAC-SHA256, under a key derived from the encryption key file (never stored in
// the database), over the entry's deterministic encoding with `hash` cleared. Someone who
// can write the data directory but does not hold the key file cannot forge a chain. The meta
// family keeps the head (last sequence, time and hash), written in the same batch as the
// entries. So an edited entry no longer matches its hash, a removed one leaves a gap in
// sequence and a broken link, a reordered pair breaks the links, and a removed tail no
// longer matches the head.
#ifndef SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_
#define SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::storage {

namespace v1 = ::safeguarding::triage::v1;

inline constexpr size_t kAuditHashBytes = 32;
// Key of the chain head in the meta family.
inline constexpr char kAuditHeadKey[] = "audit_head";

// The end of the chain, as kept in meta.
struct AuditHead {
  uint64_t sequence = 0;  // 0: no entries yet
  int64_t time_micros = 0;
  std::string hash = std::string(kAuditHashBytes, '\0');

  std::string Encode() const;
  static std::optional<AuditHead> Decode(absl::string_view bytes);
};

// Label of the audit chain's key: KeyRing::DeriveKey(kAuditChainKeyLabel).
inline constexpr char kAuditChainKeyLabel[] = "safeguarding audit chain v1";

// HMAC-SHA256 under `key` of `entry` with its `hash` field cleared.
std::string AuditEntryHash(const v1::AuditEntry& entry, absl::string_view key);

// Checks entries one at a time in key order; remembers the first break.
class AuditChainVerifier {
 public:
  explicit AuditChainVerifier(std::string key) : key_(std::move(key)) {}

  // `key_time_micros` and `key_sequence` come from the entry's key.
  void Add(const v1::AuditEntry& entry, int64_t key_time_micros, uint64_t key_sequence);
  // Call after the last entry with the stored head.
  void Finish(const AuditHead& head);

  bool intact() const { return !problem_.has_value(); }
  uint64_t checked() const { return checked_; }
  uint64_t first_bad_sequence() const { return first_bad_; }
  const std::string& problem() const { return *problem_; }

 private:
  void Fail(uint64_t sequence, std::string why);

  const std::string key_;
  uint64_t checked_ = 0;
  uint64_t last_sequence_ = 0;
  std::string last_hash_ = std::string(kAuditHashBytes, '\0');
  uint64_t first_bad_ = 0;
  std::optional<std::string> problem_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_
