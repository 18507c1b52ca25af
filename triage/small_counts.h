// SmallCountPolicy: decides which report counts a dashboard may show, so that aggregate
// figures cannot single out a child.
//
// Why: monitoring dashboards group report volumes by reporter type, region, category, age
// band, day and so on. A cell such as "1 report from a 14-year-old in region X on Tuesday" can
// be enough, together with local knowledge, to identify the child. So for the monitor role a
// count of 1..k-1 is replaced by a "suppressed" marker; supervisors and admins, who already see
// the reports themselves, see exact counts (Disclosure::kExact).
//
// k (minimum_count) is the smallest count shown as a number to a monitor; default 5, must be
// at least 1 (k == 1 suppresses nothing). A count of 0 is always shown as 0: "no reports"
// describes no child.
//
// Rows that are shown with their total get secondary suppression as well, so a hidden cell
// cannot be recovered as total minus the shown cells (see DiscloseRow). The protection covers
// one row with its total; a table that also shows column totals, or the same counts sliced
// another way on the same screen, needs its own complementary suppression across those.
//
// Pure, no I/O. Thread-safe (immutable after construction). Fails closed: any Disclosure other
// than kExact is treated as kSuppressSmallCounts.
#ifndef SAFEGUARDING_TRIAGE_SMALL_COUNTS_H_
#define SAFEGUARDING_TRIAGE_SMALL_COUNTS_H_

#include <cstdint>
#include <vector>

namespace safeguarding::triage {

inline constexpr uint64_t kDefaultMinimumCount = 5;

// Who is looking. Supervisor and admin roles: kExact. Monitor role: kSuppressSmallCounts.
enum class Disclosure { kExact, kSuppressSmallCounts };

// One count as it may be shown. When `suppressed` is true, `value` is 0 and must not be shown
// (render the suppressed marker instead); it never carries the hidden count.
struct DisclosedCount {
  uint64_t value;
  bool suppressed;

  friend bool operator==(const DisclosedCount&, const DisclosedCount&) = default;
};

class SmallCountPolicy {
 public:
  // `minimum_count` is k, >= 1; a smaller value is a programming error and crashes.
  explicit SmallCountPolicy(uint64_t minimum_count = kDefaultMinimumCount);

  // Under kSuppressSmallCounts: 0 is shown as 0, 1..k-1 are suppressed, k and above are shown
  // exactly. Under kExact every count is shown exactly.
  DisclosedCount Disclose(uint64_t count, Disclosure d) const;

  // A row of cells that add up to a total that is also shown (e.g. counts per reporter type on
  // one day plus the day's total).
  //   1. Primary: every cell, and the total (the sum of the cells), as by Disclose.
  //   2. Secondary: if the total is shown, the hidden cells add up to total minus the shown
  //      cells. While that sum is below k, or not more than the number of hidden cells
  //      (all 1s), the smallest non-zero shown cell (the first of equal smallest) is
  //      suppressed too. Zeros are never chosen. If every non-zero cell is hidden and the
  //      sum still gives them away, the total is suppressed. A total that is itself small
  //      is suppressed, and then nothing more is needed.
  // Under kExact the row and its total are shown unchanged.
  struct Row {
    std::vector<DisclosedCount> cells;  // in input order
    DisclosedCount total;
  };
  Row DiscloseRow(const std::vector<uint64_t>& cells, Disclosure d) const;

  uint64_t minimum_count() const { return minimum_count_; }

 private:
  uint64_t minimum_count_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_SMALL_COUNTS_H_
