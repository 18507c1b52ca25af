// AuditKeys: the keys of the audit chain and of request fingerprints, kept apart from the
// data keys that encrypt reports, so a data key can be retired once nothing is sealed under
// it, and rotating data keys never touches the trail.
//
// Audit key file (--audit_key_file): the same format and checks as the data key file
// (key_ring.h: 32-byte keys, mode 0600, the last is current). Adding a key to the end makes
// it current at the next start; the server records the change in the trail. Older audit
// keys may stay (their entries are then checked by hash as well as by digest) or be removed
// (their entries are checked through the digest in the key change that followed them).
//
// From each audit key two keys are derived (HMAC-SHA256 of a label), never the key itself:
// the chain key (entries and head) and the fingerprint key (request fingerprints).
//
// Immutable after construction; safe to share between threads.
#ifndef SAFEGUARDING_STORAGE_AUDIT_KEYS_H_
#define SAFEGUARDING_STORAGE_AUDIT_KEYS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/key_ring.h"

namespace safeguarding::storage {

// Labels of the derived keys.
inline constexpr char kAuditChainKeyLabel[] = "safeguarding audit chain v2";
inline constexpr char kFingerprintKeyLabel[] = "safeguarding request fingerprint v2";
// Before audit keys, both were derived from the oldest data key with these labels.
inline constexpr char kLegacyAuditChainKeyLabel[] = "safeguarding audit chain v1";
inline constexpr char kLegacyFingerprintKeyLabel[] = "safeguarding request fingerprint v1";

class AuditKeys {
 public:
  explicit AuditKeys(const KeyRing& ring);

  uint32_t current_id() const { return current_id_; }
  const std::string& current_chain_key() const { return current_chain_key_; }
  const std::string& current_fingerprint_key() const { return current_fingerprint_key_; }
  bool Has(uint32_t id) const { return ring_.HasKey(id); }
  // nullopt if `id` is not in the audit key file.
  std::optional<std::string> ChainKey(uint32_t id) const;
  // Chain keys of every audit key, current first.
  const std::vector<std::string>& chain_keys() const { return chain_keys_; }
  // Fingerprint keys of every audit key, current first: a retry is recognised whichever
  // audit key was current when its first submission was stored.
  const std::vector<std::string>& fingerprint_keys() const { return fingerprint_keys_; }

 private:
  KeyRing ring_;
  uint32_t current_id_;
  std::string current_chain_key_;
  std::string current_fingerprint_key_;
  std::vector<std::string> chain_keys_;
  std::vector<std::string> fingerprint_keys_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_AUDIT_KEYS_H_
