// CallBudgets: how many calls of each kind the server works on at once, so that past its
// capacity it sheds load instead of queueing without end, and so that no kind of work can
// crowd out another. Reports come first: a flood of dashboard queries, a large import or a
// burst of submits fills its own budget and is refused there, while the other kinds keep
// theirs (the desk can still claim what was submitted).
//
//   kIntake      ReportIntake (and anything not named below)
//   kDesk        TriageDesk
//   kStatistics  the Statistics service
//   kAdminRead   Administration's short reads: GetAuditLog, ListBackups, ListEncryptionKeys
//   kImport      ImportReports (admins and supervisors)
//   kBulk        the rest of Administration, all admin-only: backups, verifications,
//                recounts, purges, key rotations (so a supervisor's imports cannot hold
//                the slots an emergency key rotation needs)
//
// In the small budgets (all but intake and the desk, whose few principals are the front
// ends and the triage staff carrying all traffic) one principal holds at most half the
// slots (at least one), so one dashboard or one importer cannot take them all.
//
// Intake and desk calls are also refused, RESOURCE_EXHAUSTED at once, while the changes
// already queued for the disk have waited longer than `max_write_backlog` (the
// committer's backlog): past that, a client's deadline passes before its change would be
// written, and the work a doomed call takes (validation, sealing) is better spent on
// calls that can still be answered.
//
// A call takes a slot once the AccessGuard has admitted it (so calls that fail to
// authenticate cannot crowd out those that do) and gives it back when gRPC is done with it;
// a full budget answers RESOURCE_EXHAUSTED at once, naming the budget and its flag. A limit
// of 0 means no limit.
//
// Thread-safe (atomics).
#ifndef SAFEGUARDING_SERVICES_CALL_BUDGET_H_
#define SAFEGUARDING_SERVICES_CALL_BUDGET_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "triage/rpcs.h"

namespace safeguarding::services {

enum class CallClass { kIntake = 0, kDesk, kStatistics, kAdminRead, kImport, kBulk };
inline constexpr int kCallClasses = 6;

struct CallBudgetLimits {
  int64_t intake = 4096;
  int64_t desk = 1024;
  int64_t statistics = 16;
  int64_t admin_reads = 16;
  int64_t imports = 8;
  int64_t bulk = 4;
  // Intake and desk calls are refused while queued changes have waited longer (the
  // committer's backlog); zero: never.
  absl::Duration max_write_backlog = absl::Milliseconds(100);

  // OK, or INVALID_ARGUMENT naming the flag of the first negative limit.
  [[nodiscard]] absl::Status Check() const;
};

// "intake", "desk", "statistics", "admin_read", "import", "bulk": the label of the metrics.
absl::string_view CallClassName(CallClass c);
// The server flag that sets the budget of `c`, e.g. "--max_calls_in_flight".
absl::string_view CallClassFlag(CallClass c);

class CallBudgets {
 public:
  // `write_backlog` tells the committer's backlog (nullptr: not checked).
  explicit CallBudgets(CallBudgetLimits limits,
                       std::function<absl::Duration()> write_backlog = nullptr);

  static CallClass ClassOf(const triage::Rpc& rpc);

  // Takes a slot of `c` for `principal`: OK, or RESOURCE_EXHAUSTED when its budget is
  // full or `principal` holds its share of it (nothing taken).
  [[nodiscard]] absl::Status Acquire(CallClass c, absl::string_view principal = "");
  // Gives back a slot Acquire took, with the same arguments.
  void Release(CallClass c, absl::string_view principal = "");
  // Whether a principal's share of `c` is capped (then Release needs the principal).
  static bool CappedPerPrincipal(CallClass c) {
    return c != CallClass::kIntake && c != CallClass::kDesk;
  }

  int64_t in_flight(CallClass c) const;
  int64_t limit(CallClass c) const { return limits_[static_cast<int>(c)]; }
  // Calls refused because `c`'s budget was full, since the start.
  uint64_t refused(CallClass c) const;

 private:
  // RESOURCE_EXHAUSTED while the write backlog is over its limit, for calls that write.
  [[nodiscard]] absl::Status CheckWriteBacklog(CallClass c) const;

  // Takes one of `principal`'s share of `c` (limit / 2, at least 1): false when it holds
  // them all.
  bool TakeShare(int c, absl::string_view principal);
  void GiveShare(int c, absl::string_view principal);

  std::array<int64_t, kCallClasses> limits_;
  absl::Mutex shares_mu_;
  std::array<absl::flat_hash_map<std::string, int64_t>, kCallClasses> shares_
      ABSL_GUARDED_BY(shares_mu_);
  const absl::Duration max_write_backlog_;
  const std::function<absl::Duration()> write_backlog_;
  std::array<std::atomic<int64_t>, kCallClasses> in_flight_{};
  std::array<std::atomic<uint64_t>, kCallClasses> refused_{};
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_CALL_BUDGET_H_
