// Key layouts of every column family, and the fixed-width big-endian encoders they are
// built from. This header is the one place the on-disk key formats are written down.
//
// Byte order equals numeric order for every fixed-width field (big-endian, unsigned), so
// RocksDB's bytewise comparator iterates keys in time / priority / sequence order. Each
// encoder has a decoder twin; tests/unit/key_encoding_test.cc checks them together.
//
//   reports   report_id(16)                                   -> Report (serialized)
//   events    report_id(16) sequence(u64)                     -> ReportEvent
//   queue     len(u8) queue_name tier(u8) due_micros(u64) report_id(16) -> "" (ordered index)
//   requests  len(u8) caller_scope request_id                 -> fingerprint(32) response
//   counters  (statistics: arrays of uint64 counts merged by counter_cells.h; keys to come)
//   audit     time_micros(u64) sequence(u64)                  -> audit entry
//   meta      "schema_version"                                -> u32
//
// Times are microseconds since the Unix epoch; report ids begin with their received time,
// so ids sort in arrival order (see report_id.h).
#ifndef SAFEGUARDING_STORAGE_KEY_ENCODING_H_
#define SAFEGUARDING_STORAGE_KEY_ENCODING_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "storage/report_id.h"

namespace safeguarding::storage {

// Fixed-width big-endian primitives. Get* consume from the front of `in` and return
// nullopt when it is too short.
void PutFixed32BE(std::string* out, uint32_t v);
void PutFixed64BE(std::string* out, uint64_t v);
std::optional<uint32_t> GetFixed32BE(absl::string_view* in);
std::optional<uint64_t> GetFixed64BE(absl::string_view* in);

// Signed microsecond times are stored with the sign bit flipped so that negative times
// (before 1970, only from imports) still sort before positive ones.
uint64_t OrderedFromMicros(int64_t micros);
int64_t MicrosFromOrdered(uint64_t ordered);

// events: all events of one report share the 16-byte id prefix.
std::string EventKey(const ReportId& id, uint64_t sequence);
struct EventKeyParts {
  ReportId id;
  uint64_t sequence;
};
std::optional<EventKeyParts> ParseEventKey(absl::string_view key);

// queue: every waiting report. Within one queue: tier (the priority), then due time, then
// report id (arrival time, then random). Claim order (IMMEDIATE first, then due time) is
// kept in memory by QueueIndex.
std::string QueueKey(absl::string_view queue, uint8_t tier, int64_t due_micros, const ReportId& id);
struct QueueKeyParts {
  std::string queue;
  uint8_t tier;
  int64_t due_micros;
  ReportId id;
};
std::optional<QueueKeyParts> ParseQueueKey(absl::string_view key);
// Prefix shared by every entry of one queue.
std::string QueuePrefix(absl::string_view queue);

// requests: idempotency keys, scoped by the calling principal so two front ends cannot
// collide on each other's request ids.
std::string RequestKey(absl::string_view caller_scope, absl::string_view request_id);

// audit: ordered by commit time, then sequence (the committer stamps both, monotonically,
// so key order is chain order).
std::string AuditKey(int64_t time_micros, uint64_t sequence);
struct AuditKeyParts {
  int64_t time_micros;
  uint64_t sequence;
};
std::optional<AuditKeyParts> ParseAuditKey(absl::string_view key);

// audit_by_report: every entry that names a report, under that report (the entry's
// report_id string, length-prefixed), in chain order: len(u8) report id | AuditKey.
std::string AuditByReportPrefix(absl::string_view report_id);
std::string AuditByReportKey(absl::string_view report_id, absl::string_view audit_key);

// Longest queue name or caller scope a length-prefixed key can hold.
inline constexpr size_t kMaxKeyComponentBytes = 255;

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_KEY_ENCODING_H_
