// The one mapping from rocksdb::Status to absl::Status, so that a disk fault reaches the
// edge as UNAVAILABLE (or DATA_LOSS for corruption) and never as a crash.
#ifndef SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_
#define SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace safeguarding::storage {

// `context` names the operation ("read report", "commit batch") and prefixes the message.
absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_
