// Per-thread OpenSSL contexts that are already keyed, so that the hot paths (audit entry
// MACs, request fingerprints, sealing and opening records) neither fetch an algorithm nor
// derive a key schedule on every call: OpenSSL 3's one-shot calls (HMAC(), EVP_Digest with
// EVP_sha256(), EVP_EncryptInit_ex with EVP_aes_256_gcm()) do both each time.
//
// A thread keeps the contexts of its last kSlots keys. A key is recognised by its bytes
// (compared in constant time, never by address: a freed key's memory may hold another key),
// and its copy is wiped when its slot is reused or the thread ends.
#ifndef SAFEGUARDING_COMMON_KEYED_CONTEXTS_H_
#define SAFEGUARDING_COMMON_KEYED_CONTEXTS_H_

#include <openssl/crypto.h>

#include <array>
#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace safeguarding::common {

// Contexts of type Ctx, freed with Free, one per recently used key. Not thread-safe: use one
// per thread (thread_local).
template <typename Ctx, void (*Free)(Ctx*)>
class KeyedContexts {
 public:
  static constexpr size_t kSlots = 4;

  KeyedContexts() = default;
  KeyedContexts(const KeyedContexts&) = delete;
  KeyedContexts& operator=(const KeyedContexts&) = delete;
  ~KeyedContexts() {
    for (Slot& slot : slots_) Clear(slot);
  }

  // The context keyed with `key`, or nullptr if this thread has none.
  Ctx* Find(absl::string_view key) const {
    for (const Slot& slot : slots_) {
      if (slot.ctx != nullptr && slot.key.size() == key.size() &&
          CRYPTO_memcmp(slot.key.data(), key.data(), key.size()) == 0) {
        return slot.ctx;
      }
    }
    return nullptr;
  }

  // Keeps `ctx` (keyed with `key`; owned from now on) in place of the oldest.
  void Keep(absl::string_view key, Ctx* ctx) {
    Slot& slot = slots_[next_];
    next_ = (next_ + 1) % kSlots;
    Clear(slot);
    slot.key.assign(key.data(), key.size());
    slot.ctx = ctx;
  }

  // Frees `ctx` (after a failure left it in an unknown state); the next use keys a new one.
  void Drop(Ctx* ctx) {
    for (Slot& slot : slots_) {
      if (slot.ctx == ctx) Clear(slot);
    }
  }

 private:
  struct Slot {
    std::string key;
    Ctx* ctx = nullptr;
  };
  static void Clear(Slot& slot) {
    OPENSSL_cleanse(slot.key.data(), slot.key.size());
    slot.key.clear();
    if (slot.ctx != nullptr) Free(slot.ctx);
    slot.ctx = nullptr;
  }

  std::array<Slot, kSlots> slots_;
  size_t next_ = 0;
};

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_KEYED_CONTEXTS_H_
