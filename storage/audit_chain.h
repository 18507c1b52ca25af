// The audit hash chain: how entries are linked and keyed, how the head is signed, and how a
// trail is verified. Pure functions and values; storage/audit_trail.h reads and writes them.
//
// Each AuditEntry carries the hash of its predecessor (32 zero bytes for the first) and its
// own hash: HMAC-SHA256 over the entry's deterministic encoding with `hash` cleared, under
// the chain key of an audit key (audit_keys.h; never stored in the database). Which audit key
// keys an entry is set by the trail itself: the last key-change entry at or before it
// (AuditEntry.key_change). Every trail begins with one (the store's creation); a store
// migrated from the time before audit keys had a key of their own starts with "legacy"
// entries, followed by the key change of its migration.
//
// A key change also carries the trail digest of everything before it: a SHA-256 chain over
// the entries' full encodings (TrailDigest). Sealed under the new key, it keeps the entries
// before it verifiable once their key is retired or, for legacy entries, no longer known.
//
// The head in meta (sequence, time, hash of the last entry, and the audit key id) is signed
// with an HMAC under that key, in the same batch as the entries. So whoever can write the
// data directory but holds no audit key cannot edit an entry (its hash fails), remove one
// (a gap and a broken link), reorder them (broken links), cut the newest ones and make up a
// head for the rest (it fails its signature), or empty the trail (a store's trail is never
// empty). What the chain alone cannot show is an older state put back: a whole older copy of
// the data directory, or an older signed head kept from one together with the entries up to
// it. Both are complete, correctly signed trails; only an anchor recorded elsewhere (a
// sequence and hash, see AuditAnchorPoint) shows they went back.
#ifndef SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_
#define SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/audit_anchor.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/audit_keys.h"

namespace safeguarding::storage {

namespace v1 = ::safeguarding::triage::v1;

inline constexpr size_t kAuditHashBytes = 32;
// Key of the chain head in the meta family.
inline constexpr char kAuditHeadKey[] = "audit_head";
// Entries the server writes about the trail itself.
inline constexpr char kAuditServerPrincipal[] = "triage-server";
inline constexpr char kAuditKeyChangeMethod[] = "server:audit-key-change";
inline constexpr char kAuditTrailBreakMethod[] = "server:audit-trail-break";
inline constexpr char kAuditRestoreMethod[] = "server:restore-from-backup";

// The end of the chain.
struct AuditHead {
  uint64_t sequence = 0;  // 0: no entries yet
  int64_t time_micros = 0;
  std::string hash = std::string(kAuditHashBytes, '\0');
  uint32_t key_id = 0;  // the audit key that signs the head and keys the newest entries
};

// The head as stored:
//  signed (written by this version): 0x02 | sequence u64 | time u64 (ordered) | hash (32) |
//    key id u32 | HMAC-SHA256 under the key's chain key of everything before it (32);
//  legacy (before audit keys): sequence | time | hash, unsigned (48 bytes). Only a store
//    being migrated may have one.
struct StoredHead {
  AuditHead head;
  bool legacy = false;
  std::string signed_part;  // signed: the bytes the MAC covers
  std::string mac;
};

std::string EncodeSignedHead(const AuditHead& head, absl::string_view chain_key);
// nullopt if the record has neither format.
std::optional<StoredHead> DecodeStoredHead(absl::string_view bytes);
// True if `stored` is signed and its MAC verifies under `chain_key`.
bool HeadSignatureValid(const StoredHead& stored, absl::string_view chain_key);

// HMAC-SHA256 under `chain_key` of `entry` with its `hash` field cleared.
std::string AuditEntryHash(const v1::AuditEntry& entry, absl::string_view chain_key);

// SHA-256 chain over whole entries: d0 = 32 zero bytes, d(i) = SHA-256(d(i-1) || encoding of
// entry i, hash included).
class TrailDigest {
 public:
  void Add(const v1::AuditEntry& entry);
  const std::string& value() const { return value_; }

 private:
  std::string value_ = std::string(kAuditHashBytes, '\0');
};

using common::AuditAnchorPoint;

struct AuditVerifierOptions {
  // Chain key of entries written before audit keys existed. Given only while migrating (the
  // data key it is derived from is then known to be the right one); later verifications
  // check those entries through the digest of the migration's key change.
  std::optional<std::string> legacy_chain_key;
  // Accept an unsigned legacy head (migration only).
  bool accept_legacy_head = false;
  // Each must lie on the chain, and the trail must not end before it.
  std::vector<AuditAnchorPoint> anchors;
};

// Checks entries one at a time in key order; remembers the first problem.
class AuditChainVerifier {
 public:
  AuditChainVerifier(const AuditKeys& keys, AuditVerifierOptions options = {});

  // `key_time_micros` and `key_sequence` come from the entry's key.
  void Add(const v1::AuditEntry& entry, int64_t key_time_micros, uint64_t key_sequence);
  // Call after the last entry with the stored head (nullopt: there is none).
  void Finish(const std::optional<StoredHead>& head);

  bool intact() const { return !problem_.has_value(); }
  uint64_t checked() const { return checked_; }
  uint64_t first_bad_sequence() const { return first_bad_; }
  const std::string& problem() const { return *problem_; }
  // Digest of every entry added so far (for the next key change).
  const std::string& digest() const { return digest_.value(); }
  // The end of the chain as walked (sequence, time, hash; key_id of the last key change).
  const AuditHead& walked() const { return walked_; }
  bool seen_key_change() const { return seen_key_change_; }

 private:
  void Fail(uint64_t sequence, std::string why);
  // Checks `entry`'s hash under the key of the current section, or leaves it to the next
  // key change's digest when that key is not known.
  void CheckKeyedHash(const v1::AuditEntry& entry);
  // What `previous_key_id` a key change at `sequence` must name.
  std::string ExpectedPreviousKey(uint64_t sequence, const v1::AuditKeyChange& change) const;

  const AuditKeys& keys_;
  const AuditVerifierOptions options_;
  uint64_t checked_ = 0;
  AuditHead walked_;
  // Chain key of the current section; nullopt when unknown (legacy entries, or a retired
  // audit key): entries are then checked by the next key change's digest.
  std::optional<std::string> section_key_;
  bool seen_key_change_ = false;
  uint64_t unchecked_from_ = 0;  // first entry not yet checked by hash or digest; 0: none
  TrailDigest digest_;
  absl::flat_hash_map<uint64_t, std::string> anchors_;  // sequence -> hash
  uint64_t first_bad_ = 0;
  std::optional<std::string> problem_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_AUDIT_CHAIN_H_
