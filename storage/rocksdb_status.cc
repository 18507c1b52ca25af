#include "storage/rocksdb_status.h"

#include "absl/strings/str_cat.h"

namespace safeguarding::storage {

absl::Status FromRocksDb(const rocksdb::Status& s, absl::string_view context) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat(context, ": ", s.ToString());
  switch (s.code()) {
    case rocksdb::Status::kNotFound:
      return absl::NotFoundError(message);
    case rocksdb::Status::kCorruption:
      return absl::DataLossError(message);
    case rocksdb::Status::kNotSupported:
    case rocksdb::Status::kInvalidArgument:
    case rocksdb::Status::kAborted:
      // Never the caller's fault: our own misuse of RocksDB. INTERNAL, so the client gets
      // a generic message and the detail goes to the server log (services/status_mapping).
      return absl::InternalError(message);
    case rocksdb::Status::kIncomplete:
    case rocksdb::Status::kShutdownInProgress:
    case rocksdb::Status::kBusy:
    case rocksdb::Status::kTryAgain:
    case rocksdb::Status::kTimedOut:
    case rocksdb::Status::kIOError:
    case rocksdb::Status::kMergeInProgress:
    case rocksdb::Status::kExpired:
      return absl::UnavailableError(message);
    default:
      // Anything else RocksDB reports is still a storage fault the client can retry.
      return absl::UnavailableError(message);
  }
}

}  // namespace safeguarding::storage
