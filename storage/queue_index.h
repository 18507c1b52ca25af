// QueueIndex: the part of the store that owns the queue family, the ordered claim index
// (queue, tier, due time, report id -> ""; key layout in key_encoding.h). Byte order is
// claim order: most urgent tier first, then earliest due time, then arrival.
//
// Thread-safe: reads use their own iterators; writes go into a change's Mutation.
#ifndef SAFEGUARDING_STORAGE_QUEUE_INDEX_H_
#define SAFEGUARDING_STORAGE_QUEUE_INDEX_H_

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "storage/engine.h"
#include "storage/key_encoding.h"
#include "storage/mutation.h"
#include "storage/report_id.h"

namespace safeguarding::storage {

class QueueIndex {
 public:
  explicit QueueIndex(const Engine& engine) : engine_(engine) {}

  // Adds the entry of report `id` to `m`.
  static void Add(Mutation& m, const std::string& queue, uint8_t tier, int64_t due_micros,
                  const ReportId& id);

  // Visits every entry in key order. DATA_LOSS on a malformed key; UNAVAILABLE on a fault.
  [[nodiscard]] absl::Status Scan(absl::FunctionRef<void(const QueueKeyParts&)> visit) const;

 private:
  const Engine& engine_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_QUEUE_INDEX_H_
