// The record of a restore: `triagectl admin restore` leaves it in the data directory it
// brought back from a backup (RESTORED_FROM_BACKUP, a serialised v1::BackupRestore), and
// the server, when it first opens that directory, writes it into the audit trail
// (ReportStore::Open) and removes the file. The trail so says that the entries after the
// backup's audit head were lost with the restore, when, and who ran it.
//
// In triage_backup (with backup.h), which the client links without the storage layer.
#ifndef SAFEGUARDING_STORAGE_RESTORE_RECORD_H_
#define SAFEGUARDING_STORAGE_RESTORE_RECORD_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "safeguarding/triage/v1/access.pb.h"
#include "storage/key_ring.h"

namespace safeguarding::storage {

inline constexpr char kRestoreRecordFile[] = "RESTORED_FROM_BACKUP";
// The most a record's text fields (restored_by, anchor_before) hold.
inline constexpr size_t kMaxRestoreTextBytes = 256;

// A record is sealed with a key derived (KeyRing::DeriveKeyFrom) from the audit key with this
// label: the data directory does not hold it, so a record planted there cannot be sealed.
inline constexpr char kRestoreSealLabel[] = "safeguarding restore record v1";

// Sets `record`'s seal and seal_key_id: HMAC-SHA256, under the key derived from the current
// key of `audit_keys` (the server's --audit_key_file), of fields 1-7, 11 and 12 in a fixed
// encoding (every field but the server's backup_check and the seal itself).
void SealRestoreRecord(const KeyRing& audit_keys, triage::v1::BackupRestore& record);

// OK if `record`'s seal verifies under the key it names; FAILED_PRECONDITION saying why
// not (no seal, a key not in `audit_keys`, a seal that does not match: altered or forged).
[[nodiscard]] absl::Status CheckRestoreSeal(const KeyRing& audit_keys,
                                            const triage::v1::BackupRestore& record);

// Writes `record` to <data_dir>/RESTORED_FROM_BACKUP and syncs it (the caller syncs the
// directory, as a restore syncs the whole of it). Owner-only; fails if the file exists.
[[nodiscard]] absl::Status WriteRestoreRecord(const std::string& data_dir,
                                              const triage::v1::BackupRestore& record);

struct RestoreRecordFile {
  triage::v1::BackupRestore record;
  std::string bytes;  // as in the file: which restore it was, byte for byte
};
// The record in `data_dir`, if there is one. DATA_LOSS, naming the file and what is wrong,
// if it cannot be parsed or a field is out of shape (a backup id that is not a number, a
// time out of range or before the backup, text over kMaxRestoreTextBytes or not printable
// ASCII, a hash not 32 bytes); an I/O error as its errno status. The seal is not checked
// here (CheckRestoreSeal).
[[nodiscard]] absl::StatusOr<std::optional<RestoreRecordFile>> ReadRestoreRecord(
    const std::string& data_dir);

// Renames it aside to RESTORED_FROM_BACKUP.unrecorded-<UTC time> (kept for the incident
// record, and no longer read by a start) and syncs the directory; returns the new path.
[[nodiscard]] absl::StatusOr<std::string> SetRestoreRecordAside(const std::string& data_dir);

// Removes it and syncs the directory. A failure leaves it for the next open, which finds it
// already recorded (ReportStore keeps the bytes of the last one recorded) and removes it.
[[nodiscard]] absl::Status RemoveRestoreRecord(const std::string& data_dir);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_RESTORE_RECORD_H_
