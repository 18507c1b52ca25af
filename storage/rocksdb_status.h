// The one mapping from rocksdb::Status to absl::Status, so that a disk fault reaches the
// edge as UNAVAILABLE (or DATA_LOSS for corruption) and never as a crash. NotFound stays
// NOT_FOUND; InvalidArgument, NotSupported and Aborted are never a client's fault and become
// INTERNAL (the client sees a generic message, the log the detail).
#ifndef SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_
#define SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "rocksdb/status.h"

namespace safeguarding::storage {

// `context` names the operation ("read report", "commit batch") and prefixes the message.
[[nodiscard]] absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_ROCKSDB_STATUS_H_
