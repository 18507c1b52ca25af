// storage/rocksdb_status.h: every RocksDB code maps to the absl code the edge needs, with
// the operation named in the message.
#include "storage/rocksdb_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace safeguarding::storage {
namespace {

struct Case {
  rocksdb::Status status;
  absl::StatusCode expected;
};

TEST(FromRocksDbTest, MapsEveryCodeTheStoreCanMeet) {
  const Case cases[] = {
      {rocksdb::Status::OK(), absl::StatusCode::kOk},
      {rocksdb::Status::NotFound("k"), absl::StatusCode::kNotFound},
      {rocksdb::Status::Corruption("block checksum"), absl::StatusCode::kDataLoss},
      // Our misuse of RocksDB, never the caller's: INTERNAL, not INVALID_ARGUMENT.
      {rocksdb::Status::InvalidArgument("column family"), absl::StatusCode::kInternal},
      {rocksdb::Status::NotSupported("feature"), absl::StatusCode::kInternal},
      {rocksdb::Status::Aborted("txn"), absl::StatusCode::kInternal},
      // Faults of the disk or the moment: UNAVAILABLE, retry.
      {rocksdb::Status::IOError("disk"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Busy("busy"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TryAgain("again"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::TimedOut("slow"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Incomplete("partial"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::ShutdownInProgress("closing"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::Expired("ttl"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::MergeInProgress("merge"), absl::StatusCode::kUnavailable},
      {rocksdb::Status::NoSpace("full"), absl::StatusCode::kUnavailable},
  };
  for (const Case& c : cases) {
    absl::Status mapped = FromRocksDb(c.status, "read report");
    EXPECT_EQ(mapped.code(), c.expected) << c.status.ToString();
    if (!mapped.ok()) {
      EXPECT_THAT(std::string(mapped.message()), ::testing::StartsWith("read report: ")) << mapped;
    }
  }
}

}  // namespace
}  // namespace safeguarding::storage
