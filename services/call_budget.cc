#include "services/call_budget.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace safeguarding::services {
namespace {

constexpr absl::string_view kFlags[kCallClasses] = {
    "--max_calls_in_flight", "--max_statistics_in_flight", "--max_admin_calls_in_flight"};

}  // namespace

absl::string_view CallClassName(CallClass c) {
  switch (c) {
    case CallClass::kInteractive:
      return "interactive";
    case CallClass::kStatistics:
      return "statistics";
    case CallClass::kBulk:
      return "bulk";
  }
  return "interactive";
}

CallBudgets::CallBudgets(CallBudgetLimits limits)
    : limits_{limits.interactive, limits.statistics, limits.bulk} {}

CallClass CallBudgets::ClassOf(const triage::Rpc& rpc) {
  if (rpc.descriptor() == nullptr) return CallClass::kInteractive;
  const absl::string_view service = rpc.descriptor()->service()->name();
  if (service == "Statistics") return CallClass::kStatistics;
  if (service == "Administration") return CallClass::kBulk;
  return CallClass::kInteractive;
}

absl::Status CallBudgets::Acquire(CallClass c) {
  const int i = static_cast<int>(c);
  const int64_t before = in_flight_[i].fetch_add(1, std::memory_order_relaxed);
  if (limits_[i] <= 0 || before < limits_[i]) return absl::OkStatus();
  in_flight_[i].fetch_sub(1, std::memory_order_relaxed);
  refused_[i].fetch_add(1, std::memory_order_relaxed);
  return absl::ResourceExhaustedError(absl::StrCat(
      "server busy: ", limits_[i], " ", CallClassName(c), " calls already in progress (", kFlags[i],
      "); retry after a short, growing delay"));
}

void CallBudgets::Release(CallClass c) {
  in_flight_[static_cast<int>(c)].fetch_sub(1, std::memory_order_relaxed);
}

int64_t CallBudgets::in_flight(CallClass c) const {
  return in_flight_[static_cast<int>(c)].load(std::memory_order_relaxed);
}

uint64_t CallBudgets::refused(CallClass c) const {
  return refused_[static_cast<int>(c)].load(std::memory_order_relaxed);
}

}  // namespace safeguarding::services
