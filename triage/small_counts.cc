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

  // The hidden cells add up to (total - shown cells), which anyone can work out. Hide more
  // until that sum says little about any one of them: at least k, and more than the number
  // of hidden cells (each hidden cell is at least 1, so a sum equal to the count means all
  // are 1). Each step hides the smallest non-zero shown cell (the first of equal smallest).
  uint64_t hidden_sum = 0;
  size_t hidden_count = 0;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (row.cells[i].suppressed) {
      hidden_sum += cells[i];
      ++hidden_count;
    }
  }
  if (hidden_count == 0) return row;
  while (hidden_sum < minimum_count_ || hidden_sum <= hidden_count) {
    std::optional<size_t> complement;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (row.cells[i].suppressed || cells[i] == 0) continue;
      if (!complement.has_value() || cells[i] < cells[*complement]) complement = i;
    }
    if (!complement.has_value()) {
      // Every non-zero cell is hidden and they still give themselves away: hide the total.
      row.total = DisclosedCount{.value = 0, .suppressed = true};
      return row;
    }
    row.cells[*complement] = DisclosedCount{.value = 0, .suppressed = true};
    hidden_sum += cells[*complement];
    ++hidden_count;
  }
  return row;
}

}  // namespace safeguarding::triage
