// The column families of the store, declared once, in a fixed order. The order is the
// index into the handle array the store keeps; append new families at the end.
#ifndef SAFEGUARDING_STORAGE_COLUMN_FAMILIES_H_
#define SAFEGUARDING_STORAGE_COLUMN_FAMILIES_H_

#include <array>
#include <string_view>

namespace safeguarding::storage {

enum class ColumnFamily : int {
  kReports = 0,        // report id -> Report
  kEvents = 1,         // report id + sequence -> ReportEvent
  kQueue = 2,          // queue, tier, due time, report id -> "" (ordered claim index)
  kRequests = 3,       // caller scope + request id -> fingerprint + first response
  kCounters = 4,       // reserved since the first release, never written (see kStatistics)
  kAudit = 5,          // time + sequence -> audit entry
  kMeta = 6,           // schema version and other store-wide facts
  kWorkflow = 7,       // report id -> the report's workflow record (state, claim, outcome, ...)
  kClaims = 8,         // report id -> its live claim (only claimed reports)
  kAuditByReport = 9,  // report id (as the entry names it) + audit key -> "" (index)
  // Statistics cells -> arrays of uint64 counts (counter_keys.h, counter_cells.h merge).
  // A family of its own, not the reserved "counters": a build from before it opened
  // "counters" without the merge operator, and replaying merges without it would cut the
  // WAL short; a new family makes such a build refuse the directory before replaying.
  kStatistics = 10,
};

inline constexpr int kColumnFamilyCount = 11;

// RocksDB names; "default" is RocksDB's own family and is left empty.
inline constexpr std::array<std::string_view, kColumnFamilyCount> kColumnFamilyNames = {
    "reports", "events",   "queue",  "requests",        "counters",  "audit",
    "meta",    "workflow", "claims", "audit_by_report", "statistics"};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_COLUMN_FAMILIES_H_
