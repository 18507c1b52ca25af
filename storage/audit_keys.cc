#include "storage/audit_keys.h"

namespace safeguarding::storage {

AuditKeys::AuditKeys(const KeyRing& ring)
    : ring_(ring),
      current_id_(ring.current_key_id()),
      current_chain_key_(*ring.DeriveKeyFrom(current_id_, kAuditChainKeyLabel)),
      current_fingerprint_key_(*ring.DeriveKeyFrom(current_id_, kFingerprintKeyLabel)) {
  chain_keys_.push_back(current_chain_key_);
  fingerprint_keys_.push_back(current_fingerprint_key_);
  for (uint32_t id : ring.key_ids()) {
    if (id == current_id_) continue;
    chain_keys_.push_back(*ring.DeriveKeyFrom(id, kAuditChainKeyLabel));
    fingerprint_keys_.push_back(*ring.DeriveKeyFrom(id, kFingerprintKeyLabel));
  }
}

std::optional<std::string> AuditKeys::ChainKey(uint32_t id) const {
  return ring_.DeriveKeyFrom(id, kAuditChainKeyLabel);
}

}  // namespace safeguarding::storage
