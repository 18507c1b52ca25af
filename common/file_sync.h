// Making a rename or link durable: fsync of the directory that holds `path`. Shared by the
// key files and the audit anchor file, which are both replaced by rename.
#ifndef SAFEGUARDING_COMMON_FILE_SYNC_H_
#define SAFEGUARDING_COMMON_FILE_SYNC_H_

#include <string>

#include "absl/status/status.h"

namespace safeguarding::common {

// The errno status (message: "directory D of P could not be synced") if opening or syncing
// the directory fails.
[[nodiscard]] absl::Status SyncParentDirectory(const std::string& path);

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_FILE_SYNC_H_
