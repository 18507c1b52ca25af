#include "storage/audit_chain.h"

#include <openssl/crypto.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "google/protobuf/util/time_util.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"

namespace safeguarding::storage {

using common::DeterministicEncoding;
using common::HmacSha256;
using common::Sha256;
namespace {

constexpr uint8_t kSignedHeadVersion = 0x02;
constexpr size_t kLegacyHeadBytes = 8 + 8 + kAuditHashBytes;
constexpr size_t kSignedPartBytes = 1 + 8 + 8 + kAuditHashBytes + 4;
constexpr char kHeadMacLabel[] = "audit head v2|";
constexpr char kLegacyKeyPrefix[] = "legacy:";

bool EqualBytes(absl::string_view a, absl::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<uint32_t> ParseKeyIdHex(absl::string_view hex) {
  uint32_t id = 0;
  if (hex.size() != 8 || !absl::SimpleHexAtoi(hex, &id)) return std::nullopt;
  return id;
}

// An entry with a field only the server sets (a key change, a trail break, a restore) has
// exactly one of them, the server's principal and that field's method.
bool ServerOnlyFieldsFit(const v1::AuditEntry& entry) {
  const int set =
      int{entry.has_key_change()} + int{entry.has_trail_break()} + int{entry.has_restore()};
  if (set == 0) return true;
  const char* method = entry.has_key_change()    ? kAuditKeyChangeMethod
                       : entry.has_trail_break() ? kAuditTrailBreakMethod
                                                 : kAuditRestoreMethod;
  return set == 1 && entry.principal() == kAuditServerPrincipal && entry.method() == method;
}

}  // namespace

std::string EncodeSignedHead(const AuditHead& head, absl::string_view chain_key) {
  std::string out;
  out.push_back(static_cast<char>(kSignedHeadVersion));
  PutFixed64BE(&out, head.sequence);
  PutFixed64BE(&out, OrderedFromMicros(head.time_micros));
  out.append(head.hash);
  PutFixed32BE(&out, head.key_id);
  out.append(HmacSha256(chain_key, absl::StrCat(kHeadMacLabel, out)));
  return out;
}

std::optional<StoredHead> DecodeStoredHead(absl::string_view bytes) {
  StoredHead stored;
  absl::string_view in = bytes;
  if (bytes.size() == kLegacyHeadBytes) {
    stored.legacy = true;
  } else if (bytes.size() == kSignedPartBytes + kAuditHashBytes &&
             static_cast<uint8_t>(bytes[0]) == kSignedHeadVersion) {
    stored.signed_part = std::string(bytes.substr(0, kSignedPartBytes));
    stored.mac = std::string(bytes.substr(kSignedPartBytes));
    in.remove_prefix(1);
  } else {
    return std::nullopt;
  }
  std::optional<uint64_t> sequence = GetFixed64BE(&in);
  std::optional<uint64_t> time = GetFixed64BE(&in);
  if (!sequence || !time || in.size() < kAuditHashBytes) return std::nullopt;
  stored.head.sequence = *sequence;
  stored.head.time_micros = MicrosFromOrdered(*time);
  stored.head.hash = std::string(in.substr(0, kAuditHashBytes));
  in.remove_prefix(kAuditHashBytes);
  if (!stored.legacy) {
    std::optional<uint32_t> key_id = GetFixed32BE(&in);
    if (!key_id) return std::nullopt;
    stored.head.key_id = *key_id;
  }
  return stored;
}

bool HeadSignatureValid(const StoredHead& stored, absl::string_view chain_key) {
  if (stored.legacy) return false;
  return EqualBytes(HmacSha256(chain_key, absl::StrCat(kHeadMacLabel, stored.signed_part)),
                    stored.mac);
}

std::string AuditEntryHash(const v1::AuditEntry& entry, absl::string_view chain_key) {
  // proto3: an empty `hash` is not encoded, so an entry not yet hashed (the committer's)
  // needs no copy to be encoded without it.
  if (entry.hash().empty()) return HmacSha256(chain_key, DeterministicEncoding(entry));
  v1::AuditEntry copy = entry;
  copy.clear_hash();
  return HmacSha256(chain_key, DeterministicEncoding(copy));
}

void TrailDigest::Add(const v1::AuditEntry& entry) {
  value_ = Sha256(absl::StrCat(value_, DeterministicEncoding(entry)));
}

AuditChainVerifier::AuditChainVerifier(const AuditKeys& keys, AuditVerifierOptions options)
    : keys_(keys), options_(std::move(options)), section_key_(options_.legacy_chain_key) {
  for (const AuditAnchorPoint& anchor : options_.anchors) {
    if (!anchors_.emplace(anchor.sequence, anchor.hash).second &&
        anchors_[anchor.sequence] != anchor.hash) {
      Fail(anchor.sequence, "two anchors name the same sequence with different hashes");
    }
  }
}

std::string AuditChainVerifier::ExpectedPreviousKey(uint64_t sequence,
                                                    const v1::AuditKeyChange& change) const {
  // The first entry begins a trail; the first key change after legacy entries names the
  // data key that keyed them; every later one names the key of the section it closes.
  if (sequence == 1) return "";
  if (seen_key_change_) return KeyIdHex(walked_.key_id);
  absl::string_view previous = change.previous_key_id();
  if (absl::ConsumePrefix(&previous, kLegacyKeyPrefix) && ParseKeyIdHex(previous)) {
    return change.previous_key_id();
  }
  return "legacy:<data key id>";  // never equal: the key change does not fit
}

void AuditChainVerifier::Fail(uint64_t sequence, std::string why) {
  if (problem_) return;
  first_bad_ = sequence;
  problem_ = std::move(why);
}

void AuditChainVerifier::CheckKeyedHash(const v1::AuditEntry& entry) {
  if (!section_key_) {
    if (unchecked_from_ == 0) unchecked_from_ = entry.sequence();
    return;
  }
  if (!EqualBytes(AuditEntryHash(entry, *section_key_), entry.hash())) {
    Fail(entry.sequence(), "hash does not match the entry's contents (entry edited)");
  }
}

void AuditChainVerifier::Add(const v1::AuditEntry& entry, int64_t key_time_micros,
                             uint64_t key_sequence) {
  ++checked_;
  const uint64_t expected = walked_.sequence + 1;
  if (entry.sequence() != key_sequence ||
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(entry.time()) != key_time_micros) {
    Fail(key_sequence, "entry does not match its key (moved or edited)");
  } else if (entry.sequence() != expected) {
    Fail(expected, absl::StrCat("expected sequence ", expected, ", found ", entry.sequence(),
                                " (entries removed or reordered)"));
  } else if (!EqualBytes(entry.previous_hash(), walked_.hash)) {
    Fail(entry.sequence(), "previous_hash does not match the entry before (chain broken)");
  } else if (!ServerOnlyFieldsFit(entry)) {
    Fail(entry.sequence(), "an entry about the trail itself that the server did not write");
  } else if (entry.has_key_change()) {
    const v1::AuditKeyChange& change = entry.key_change();
    std::optional<uint32_t> id = ParseKeyIdHex(change.key_id());
    if (!id) {
      Fail(entry.sequence(), "key change names no valid audit key id");
    } else if (change.previous_key_id() != ExpectedPreviousKey(entry.sequence(), change)) {
      Fail(entry.sequence(), "key change does not fit its place in the trail");
    } else {
      // The digest covers every earlier entry, whether or not its own hash could be checked.
      if (!EqualBytes(change.trail_digest(), digest_.value())) {
        Fail(unchecked_from_ != 0 ? unchecked_from_ : entry.sequence(),
             "the entries before a key change do not match the digest it sealed (edited)");
      }
      section_key_ = keys_.ChainKey(*id);
      seen_key_change_ = true;
      walked_.key_id = *id;
      if (!section_key_) {
        unchecked_from_ = entry.sequence();
      } else {
        unchecked_from_ = 0;
        CheckKeyedHash(entry);
      }
    }
  } else {
    if (entry.has_trail_break()) {
      Fail(entry.sequence(),
           absl::StrCat("the server found the trail damaged when it opened the store: ",
                        entry.trail_break().problem()));
    }
    CheckKeyedHash(entry);
    // Keyed as the server keys it, and still not what the server writes.
    if (entry.has_restore() && entry.restore().backup_audit_sequence() >= entry.sequence()) {
      Fail(entry.sequence(), "a restore record that names an audit head at or after itself");
    }
  }
  if (auto anchor = anchors_.find(entry.sequence()); anchor != anchors_.end()) {
    if (!EqualBytes(anchor->second, entry.hash())) {
      Fail(entry.sequence(), absl::StrCat("entry ", entry.sequence(),
                                          " does not match the anchor recorded for it (the "
                                          "trail was replaced or rolled back and rewritten)"));
    }
  }
  walked_.sequence = entry.sequence();
  walked_.time_micros = key_time_micros;
  walked_.hash = entry.hash();
  digest_.Add(entry);
}

void AuditChainVerifier::Finish(const std::optional<StoredHead>& stored) {
  const uint64_t last = walked_.sequence;
  if (unchecked_from_ != 0) {
    Fail(unchecked_from_,
         seen_key_change_
             ? absl::StrCat("entries from sequence ", unchecked_from_,
                            " are keyed with an audit key that is not in the audit key file")
             : "the trail has no key change: it was not written by this version's server");
  }
  for (const auto& [sequence, hash] : anchors_) {
    if (sequence > last) {
      Fail(last + 1,
           absl::StrCat("the trail ends at sequence ", last, ", before the anchor at ", sequence,
                        " (the data directory was rolled back to an older copy, or "
                        "entries were removed)"));
    }
  }
  if (checked_ == 0) {
    Fail(1,
         "the trail is empty, but every store's trail begins with its creation (entries "
         "removed)");
    return;
  }
  if (!stored) {
    Fail(last, "the chain head is missing (removed outside the server)");
    return;
  }
  if (stored->legacy) {
    if (!options_.accept_legacy_head) {
      Fail(last, "the chain head is not signed (rewritten outside the server)");
      return;
    }
  } else {
    std::optional<std::string> head_key = keys_.ChainKey(stored->head.key_id);
    if (!head_key) {
      Fail(last,
           absl::StrCat("the chain head is signed with audit key ", KeyIdHex(stored->head.key_id),
                        ", which is not in the audit key file"));
      return;
    }
    if (!HeadSignatureValid(*stored, *head_key)) {
      Fail(last, "the chain head's signature does not verify (rewritten outside the server)");
      return;
    }
  }
  const AuditHead& head = stored->head;
  if (head.sequence > last) {
    Fail(last + 1, absl::StrCat("trail ends at sequence ", last, " but the head records ",
                                head.sequence, " (entries removed from the end)"));
  } else if (head.sequence < last) {
    Fail(head.sequence + 1, absl::StrCat("entries after sequence ", head.sequence,
                                         " are not covered by the head (appended outside "
                                         "the server)"));
  } else if (!EqualBytes(head.hash, walked_.hash) || head.time_micros != walked_.time_micros) {
    Fail(last, "the last entry does not match the head (entry edited)");
  } else if (!stored->legacy && head.key_id != walked_.key_id) {
    Fail(last, "the head names another audit key than the trail's last key change");
  }
}

}  // namespace safeguarding::storage
