// KeyRing: the AES-256 keys that encrypt reports at rest, and the sealing format.
//
// Key file: one or more 32-byte keys concatenated, nothing else. The last key is the current
// one (new data is sealed with it); earlier keys stay to open older data, so rotation only
// ever appends. The file must be a regular file that group and others can neither read nor
// write (mode 0600 or 0400); anything else is refused at load, naming the file.
//
// Key id: the first 4 bytes (big-endian) of SHA-256 of the key. It names a key in sealed
// data and in messages without revealing it; two keys with one id in a ring are refused.
//
// Sealed format, version 1 (all integers big-endian):
//   0x01 | key_id (u32) | nonce (12 bytes) | ciphertext (= plaintext length) | tag (16 bytes)
// AES-256-GCM with a fresh random nonce per Seal. The tag covers the header (version, key id,
// nonce) and the caller's associated data (the report id), so a blob moved to another report,
// relabelled with another key id, or altered anywhere fails to open. Random 96-bit nonces are
// safe for about 2^32 seals per key (NIST SP 800-38D); rotate long before that.
//
// Key material never appears in logs or status messages; only key ids do. Keys live in one
// immutable block shared by copies of a ring, wiped when the last copy goes.
//
// KeyRing is an immutable value type: copies are cheap and any number of threads may use
// one concurrently.
#ifndef SAFEGUARDING_STORAGE_KEY_RING_H_
#define SAFEGUARDING_STORAGE_KEY_RING_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace safeguarding::storage {

class KeyRing {
 public:
  static constexpr size_t kKeyBytes = 32;
  static constexpr uint8_t kSealedVersion = 0x01;
  // Bytes a sealed blob adds to its plaintext: version, key id, nonce, tag.
  static constexpr size_t kSealedOverhead = 1 + 4 + 12 + 16;

  // Reads a key file (format above). Errors name the file, never a key:
  //  NOT_FOUND if it does not exist; FAILED_PRECONDITION if it is not a regular file, is
  //  readable or writable by group/others, is not a positive multiple of 32 bytes long, or
  //  holds one key twice; other I/O errors map from errno.
  [[nodiscard]] static absl::StatusOr<KeyRing> LoadFile(const std::string& path);

  // A ring of `keys`, oldest first (the last is current). INVALID_ARGUMENT if there are none,
  // one is not exactly kKeyBytes long, or two share a key id (e.g. one key twice). The
  // strings are wiped.
  [[nodiscard]] static absl::StatusOr<KeyRing> FromKeys(std::vector<std::string> keys);

  uint32_t current_key_id() const;
  bool HasKey(uint32_t id) const;
  // A 32-byte key for another purpose: HMAC-SHA256(key, label), from the oldest key of the
  // ring, or from the key `id` (nullopt if the ring does not hold it). The audit keys derive
  // their chain and fingerprint keys this way (audit_keys.h); stores written before audit
  // keys existed keyed both from their oldest data key.
  std::string DeriveKey(absl::string_view label) const;
  std::optional<std::string> DeriveKeyFrom(uint32_t id, absl::string_view label) const;
  uint32_t oldest_key_id() const;
  // Oldest first; the last is current_key_id().
  std::vector<uint32_t> key_ids() const;

  // Encrypts `plaintext` with the current key; `associated_data` (the report id) is
  // authenticated, not stored: Open must be given the same bytes. INTERNAL only if the
  // random generator or the cipher fails.
  [[nodiscard]] absl::StatusOr<std::string> Seal(absl::string_view plaintext,
                                                 absl::string_view associated_data) const;

  // The plaintext of a blob made by Seal with `associated_data`. Never returns unauthenticated
  // bytes:
  //  DATA_LOSS: too short, unknown version, or the tag does not verify (altered blob, wrong
  //    associated data, key id rewritten);
  //  FAILED_PRECONDITION: the blob's key is not in this ring ("key 1a2b3c4d is not in the
  //    key file").
  [[nodiscard]] absl::StatusOr<std::string> Open(absl::string_view sealed,
                                                 absl::string_view associated_data) const;

  // The key id a sealed blob names; nullopt if it is too short or of an unknown version.
  // Nothing is authenticated: use it to pick a ring or report which key is missing.
  static std::optional<uint32_t> SealedKeyId(absl::string_view sealed);

  // Copies share the keys. No move operations: a moved-from ring would have no keys, so a
  // "move" copies and every KeyRing stays usable.
  KeyRing(const KeyRing&) = default;
  KeyRing& operator=(const KeyRing&) = default;

 private:
  struct Keys;
  friend absl::StatusOr<KeyRing> AppendNewKey(const std::string& path);

  explicit KeyRing(std::shared_ptr<const Keys> keys) : keys_(std::move(keys)) {}
  // Validates `keys` (count, sizes, distinct ids) and wipes the strings; errors carry
  // `error_code` and begin with `source`.
  [[nodiscard]] static absl::StatusOr<KeyRing> Build(std::vector<std::string> keys,
                                                     absl::StatusCode error_code,
                                                     absl::string_view source);

  std::shared_ptr<const Keys> keys_;  // never null; at least one key
};

// Creates `path` holding one new random key, mode 0600, if nothing is there; a file that
// exists is left untouched (even an invalid one: LoadFile reports that). The file appears
// complete or not at all (written aside, fsynced, then linked into place), and a concurrent
// creator cannot be overwritten.
[[nodiscard]] absl::Status CreateKeyFileIfMissing(const std::string& path);

// Rotation: appends a new random key to the key file at `path`, making it current, and
// returns the new ring. The file is validated as LoadFile does, rewritten whole to
// path + ".tmp" (mode 0600), fsynced, renamed over `path`, and the directory fsynced, so a
// crash leaves either the old or the new file. Concurrent rotations of one file (threads or
// processes) are serialized with flock on the key file, so none loses another's key. A
// symlink at `path` is replaced by a regular file.
[[nodiscard]] absl::StatusOr<KeyRing> AppendNewKey(const std::string& path);

// `id` as 8 lowercase hex digits, e.g. "1a2b3c4d".
std::string KeyIdHex(uint32_t id);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_KEY_RING_H_
