#include "triage/small_counts.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>

#include "absl/base/internal/raw_logging.h"

namespace safeguarding::triage {

SmallCountPolicy::SmallCountPolicy(uint64_t minimum_count) : minimum_count_(minimum_count) {
  ABSL_RAW_CHECK(minimum_count_ >= 1, "SmallCountPolicy: minimum_count must be at least 1");
}

DisclosedCount SmallCountPolicy::Disclose(uint64_t count, Disclosure d) const {
  // Fail closed: only an explicit kExact skips suppression.
  if (d == Disclosure::kExact || count == 0 || count >= minimum_count_) {
    return DisclosedCount{.value = count, .suppressed = false};
  }
  return DisclosedCount{.value = 0, .suppressed = true};
}

SmallCountPolicy::Row SmallCountPolicy::DiscloseRow(const std::vector<uint64_t>& cells,
                                                    Disclosure d) const {
  Row row;
  row.cells.reserve(cells.size());
  uint64_t total = 0;
  for (uint64_t cell : cells) {
    ABSL_RAW_CHECK(cell <= std::numeric_limits<uint64_t>::max() - total,
                   "SmallCountPolicy: row total overflows uint64_t");
    total += cell;
    row.cells.push_back(Disclose(cell, d));
  }
  row.total = Disclose(total, d);
  if (row.total.suppressed) return row;

  const auto is_suppressed = [](const DisclosedCount& c) { return c.suppressed; };
  if (std::count_if(row.cells.begin(), row.cells.end(), is_suppressed) != 1) return row;

  // Exactly one hidden cell and a shown total: hide a complementary cell, the smallest
  // non-zero shown one (strict < keeps the first of equal smallest).
  std::optional<size_t> complement;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (row.cells[i].suppressed || cells[i] == 0) continue;
    if (!complement.has_value() || cells[i] < cells[*complement]) complement = i;
  }
  // The hidden cell is below k and the total is at least k, so some other cell is non-zero.
  ABSL_RAW_CHECK(complement.has_value(), "SmallCountPolicy: no complementary cell");
  row.cells[*complement] = DisclosedCount{.value = 0, .suppressed = true};
  return row;
}

}  // namespace safeguarding::triage
