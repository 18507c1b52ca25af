#include "services/call_budget.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace safeguarding::services {
namespace {

struct ClassInfo {
  absl::string_view name;
  absl::string_view flag;
};

// clang-format off
constexpr ClassInfo kClasses[kCallClasses] = {
    {"intake", "--max_calls_in_flight"},
    {"desk", "--max_desk_calls_in_flight"},
    {"statistics", "--max_statistics_in_flight"},
    {"admin_read", "--max_admin_reads_in_flight"},
    {"import", "--max_imports_in_flight"},
    {"bulk", "--max_admin_calls_in_flight"},
};
// clang-format on

// Administration's calls that read a page or a list and end in milliseconds.
bool IsShortAdminRead(absl::string_view method) {
  return method == "GetAuditLog" || method == "ListBackups" || method == "ListEncryptionKeys";
}

}  // namespace

absl::Status CallBudgetLimits::Check() const {
  const int64_t limits[kCallClasses] = {intake, desk, statistics, admin_reads, imports, bulk};
  for (int i = 0; i < kCallClasses; ++i) {
    if (limits[i] < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(kClasses[i].flag, " ", limits[i], ": must be 0 (no limit) or more"));
    }
  }
  if (max_write_backlog < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("--max_write_backlog ",
                                                   absl::FormatDuration(max_write_backlog),
                                                   ": must be 0 (never refuse) or more"));
  }
  return absl::OkStatus();
}

absl::string_view CallClassName(CallClass c) { return kClasses[static_cast<int>(c)].name; }

absl::string_view CallClassFlag(CallClass c) { return kClasses[static_cast<int>(c)].flag; }

CallBudgets::CallBudgets(CallBudgetLimits limits, std::function<absl::Duration()> write_backlog)
    : limits_{limits.intake,      limits.desk,    limits.statistics,
              limits.admin_reads, limits.imports, limits.bulk},
      max_write_backlog_(limits.max_write_backlog),
      write_backlog_(std::move(write_backlog)) {}

absl::Status CallBudgets::CheckWriteBacklog(CallClass c) const {
  if (c != CallClass::kIntake && c != CallClass::kDesk) return absl::OkStatus();
  if (write_backlog_ == nullptr || max_write_backlog_ <= absl::ZeroDuration()) {
    return absl::OkStatus();
  }
  const absl::Duration backlog = write_backlog_();
  if (backlog <= max_write_backlog_) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "server busy: changes have waited ", absl::ToInt64Milliseconds(backlog),
      " ms to be written (over --max_write_backlog ", absl::FormatDuration(max_write_backlog_),
      "); retry after a short, growing delay"));
}

CallClass CallBudgets::ClassOf(const triage::Rpc& rpc) {
  if (rpc.descriptor() == nullptr) return CallClass::kIntake;
  const absl::string_view service = rpc.descriptor()->service()->name();
  if (service == "TriageDesk") return CallClass::kDesk;
  if (service == "Statistics") return CallClass::kStatistics;
  if (service == "Administration") {
    const absl::string_view method = rpc.descriptor()->name();
    if (IsShortAdminRead(method)) return CallClass::kAdminRead;
    return method == "ImportReports" ? CallClass::kImport : CallClass::kBulk;
  }
  return CallClass::kIntake;
}

bool CallBudgets::TakeShare(int c, absl::string_view principal) {
  const int64_t share = std::max<int64_t>(1, limits_[c] / 2);
  absl::MutexLock lock(&shares_mu_);
  int64_t& held = shares_[c][principal];
  if (held >= share) return false;
  ++held;
  return true;
}

void CallBudgets::GiveShare(int c, absl::string_view principal) {
  absl::MutexLock lock(&shares_mu_);
  auto it = shares_[c].find(principal);
  if (it != shares_[c].end() && --it->second <= 0) shares_[c].erase(it);
}

absl::Status CallBudgets::Acquire(CallClass c, absl::string_view principal) {
  const int i = static_cast<int>(c);
  if (absl::Status backlog = CheckWriteBacklog(c); !backlog.ok()) {
    refused_[i].fetch_add(1, std::memory_order_relaxed);
    return backlog;
  }
  const int64_t limit = limits_[i];
  const bool capped = limit > 0 && CappedPerPrincipal(c);
  if (capped && !TakeShare(i, principal)) {
    refused_[i].fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", principal, " already has ", std::max<int64_t>(1, limit / 2),
                     " of the ", limit, " ", kClasses[i].name, " calls in progress (",
                     kClasses[i].flag, "); retry after a short, growing delay"));
  }
  int64_t now = in_flight_[i].load(std::memory_order_relaxed);
  // Never above the limit, not even for an instant: a slot is taken only while one is free.
  while (limit <= 0 || now < limit) {
    if (in_flight_[i].compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) {
      return absl::OkStatus();
    }
  }
  if (capped) GiveShare(i, principal);
  refused_[i].fetch_add(1, std::memory_order_relaxed);
  return absl::ResourceExhaustedError(absl::StrCat("server busy: ", limit, " ", kClasses[i].name,
                                                   " calls already in progress (", kClasses[i].flag,
                                                   "); retry after a short, growing delay"));
}

void CallBudgets::Release(CallClass c, absl::string_view principal) {
  const int i = static_cast<int>(c);
  if (limits_[i] > 0 && CappedPerPrincipal(c)) GiveShare(i, principal);
  in_flight_[i].fetch_sub(1, std::memory_order_relaxed);
}

int64_t CallBudgets::in_flight(CallClass c) const {
  return in_flight_[static_cast<int>(c)].load(std::memory_order_relaxed);
}

uint64_t CallBudgets::refused(CallClass c) const {
  return refused_[static_cast<int>(c)].load(std::memory_order_relaxed);
}

}  // namespace safeguarding::services
