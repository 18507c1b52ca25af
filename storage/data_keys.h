// DataKeys: the part of the store that owns the data keys (key_ring.h) that seal report
// contents: the check at open against what meta records, which keys may still seal data
// (and so may not leave the key file), rotation, and re-encryption of stored reports and event
// texts.
//
// Thread-safe. Sealing happens inside a SealingScope: it holds the ring shared while a
// record is sealed and its mutation queued, and a rotation swaps the ring exclusively, so
// once a swap is done every record sealed with the old ring is already queued ahead of the
// re-encryption that follows (which is what lets a completed rotation retire older keys).
#ifndef SAFEGUARDING_STORAGE_DATA_KEYS_H_
#define SAFEGUARDING_STORAGE_DATA_KEYS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/audit_keys.h"
#include "storage/engine.h"
#include "storage/key_ring.h"

namespace safeguarding::storage {

// A data key of the key file and whether it may be retired.
struct DataKeyStatus {
  uint32_t id = 0;
  bool current = false;
  // Stored data may still be sealed with it. False once a rotation to a later key has
  // re-encrypted every record without a failure: the key may then be removed from the file.
  bool in_use = true;
};

struct KeyRotation {
  uint32_t new_key_id = 0;
  uint64_t records_to_reencrypt = 0;  // estimate
};

class DataKeys {
 public:
  // Checks `ring` against what meta records for the store: FAILED_PRECONDITION, naming the
  // key, unless the ring holds the key recorded as current and every key that may still seal
  // data. Records them on first open (an older store: every key of the ring counts as in use
  // until a rotation completes). The record is signed with the audit chain key, so whoever
  // can write the data directory cannot mark a key retired (and have an operator delete a
  // key that still opens reports): a record that does not verify counts every key as in use.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<DataKeys>> Open(Engine& engine,
                                                                      std::string key_file,
                                                                      const KeyRing& ring,
                                                                      const AuditKeys& audit_keys);

  DataKeys(const DataKeys&) = delete;
  DataKeys& operator=(const DataKeys&) = delete;

  // The current ring, to open sealed records.
  std::shared_ptr<const KeyRing> ring() const;

  // Holds the ring shared: seal, queue the mutation, then Release() (or leave the scope)
  // before running any callback.
  class SealingScope {
   public:
    explicit SealingScope(const DataKeys& keys);
    ~SealingScope() { Release(); }
    SealingScope(const SealingScope&) = delete;
    SealingScope& operator=(const SealingScope&) = delete;
    const KeyRing& ring() const { return *keys_.ring_; }
    void Release();

   private:
    const DataKeys& keys_;
    bool held_ = true;
  };

  // Makes a new key current (appended to the key file) and re-encrypts every sealed record
  // under it in the background, in chunks that run on the committer thread so they never
  // race other writes. Old keys stay in the file and keep working. `done` runs once the new
  // key is current and recorded (or the rotation failed); FAILED_PRECONDITION while a
  // previous rotation is still re-encrypting.
  void Rotate(absl::AnyInvocable<void(absl::StatusOr<KeyRotation>) &&> done);
  // Reports re-encrypted by rotations since the store was opened.
  uint64_t reencrypted_count() const { return reencrypted_.load(); }
  // Records a rotation could not re-encrypt (damaged, or sealed with a key not in the file).
  uint64_t reencrypt_failures() const { return reencrypt_failures_.load(); }
  // True while a re-encryption pass is running.
  bool reencrypting() const { return reencrypting_.load(); }
  // The keys of the key file, oldest first, with which of them may be retired.
  std::vector<DataKeyStatus> Status() const;

  // Background work (re-encryption; the same lifecycle as purge, import and backup will
  // have): each chunk records in its own batch where the work goes on. Stop() makes the
  // work end after the chunk in progress, so shutting down never waits for a whole
  // rotation; ResumeBackgroundWork() (after the committer has started) takes it up again
  // where it was recorded.
  void Stop();
  [[nodiscard]] absl::Status ResumeBackgroundWork();
  // True if this store resumed an unfinished rotation when it was opened.
  bool resumed() const { return resumed_; }

 private:
  DataKeys(Engine& engine, std::string key_file, const KeyRing& ring, std::vector<uint32_t> in_use,
           std::string record_key);

  // Schedules re-encryption of the sealed family `family` from `start_key` on the committer
  // thread (then of the families after it).
  // `failures_before`: reencrypt_failures_ when the rotation began; a rotation that ends
  // with no new failure retires every older key from use.
  void ReencryptFrom(std::string start_key, size_t family, bool final_pass,
                     uint64_t failures_before);

  // One chunk of a re-encryption pass: where it starts, and what its batch found.
  struct ReencryptChunk {
    std::string start_key;
    size_t family = 0;  // index into the sealed families (data_keys.cc)
    bool final_pass = false;
    uint64_t failures_before = 0;
    bool more = false;  // the pass goes on from (next_family, next)
    size_t next_family = 0;
    std::string next;                                 // where the next chunk starts in next_family
    std::optional<std::vector<uint32_t>> retired_to;  // the keys still in use after a clean end
  };
  // On the committer thread: re-seals the chunk's records and records the cursor.
  [[nodiscard]] absl::StatusOr<Mutation> Reencrypt(ReencryptChunk& chunk);
  // Once the chunk's batch is durable (or failed): schedules the next, or ends the rotation.
  void AfterReencrypt(const ReencryptChunk& chunk, const absl::Status& status);

  Engine& engine_;
  const std::string key_file_;
  const std::string record_key_;  // signs data_keys_in_use (the audit chain key)
  mutable absl::Mutex mu_;
  std::shared_ptr<const KeyRing> ring_ ABSL_GUARDED_BY(mu_);
  std::vector<uint32_t> in_use_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> reencrypted_{0};
  std::atomic<uint64_t> reencrypt_failures_{0};
  std::atomic<bool> reencrypting_{false};
  std::atomic<bool> stopping_{false};
  bool resumed_ = false;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_DATA_KEYS_H_
