// TriagePolicy: decides a report's priority, queue and due time, and records why.
//
// Pure and deterministic: the same submission and received time always give the same
// assessment. This build carries the built-in default policy of the design:
//   1. immediate danger                                   -> IMMEDIATE, queue "immediate"
//   2. sexual extortion, live-streamed or contact abuse,
//      or a planned meeting                               -> URGENT
//   3. otherwise                                          -> STANDARD
//   then: a child under 11 raises the priority one level (URGENT -> IMMEDIATE, ...).
// Queues route by reporter type ("child", "parent-carer" (also other adults),
// "professional"); every IMMEDIATE report goes to "immediate".
// due_time = received_time + SLA(priority) (defaults 1 h, 4 h, 24 h, 72 h).
//
// Thread-safe (immutable after construction).
#ifndef SAFEGUARDING_TRIAGE_POLICY_H_
#define SAFEGUARDING_TRIAGE_POLICY_H_

#include <array>
#include <string>

#include "absl/time/time.h"
#include "safeguarding/triage/v1/report.pb.h"

namespace safeguarding::triage {

struct SlaTargets {
  // Indexed by Priority (IMMEDIATE = 1 .. ROUTINE = 4); [0] is unused.
  std::array<absl::Duration, 5> by_priority = {absl::ZeroDuration(), absl::Hours(1), absl::Hours(4),
                                               absl::Hours(24), absl::Hours(72)};
  absl::Duration For(v1::Priority p) const { return by_priority[static_cast<size_t>(p)]; }
};

inline constexpr char kImmediateQueue[] = "immediate";
inline constexpr char kChildQueue[] = "child";
inline constexpr char kParentCarerQueue[] = "parent-carer";
inline constexpr char kProfessionalQueue[] = "professional";

class TriagePolicy {
 public:
  // The built-in default policy with the given SLA targets.
  static TriagePolicy BuiltIn(SlaTargets sla = SlaTargets());

  // Assesses a (validated) submission received at `received`.
  v1::TriageAssessment Evaluate(const v1::ReportSubmission& submission, absl::Time received) const;

  const std::string& version() const { return version_; }
  const SlaTargets& sla() const { return sla_; }

 private:
  TriagePolicy(std::string version, SlaTargets sla) : version_(std::move(version)), sla_(sla) {}

  std::string version_;
  SlaTargets sla_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_POLICY_H_
