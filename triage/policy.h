// TriagePolicy: decides a report's priority, queue and due time, and records why.
//
// The policy is data: a PolicyFile (proto/safeguarding/triage/v1/policy.proto) in protobuf
// text format, evaluated as that file's comment says. The shipped file,
// deploy/config/policy.textproto, is compiled in and is the default; --policy names
// another. A file is accepted only whole: any problem is INVALID_ARGUMENT naming the file,
// the line and the field (every problem found, one per line).
//
// Pure and deterministic: the same submission and received time always give the same
// assessment. Thread-safe (immutable after construction); the server swaps whole policies
// on SIGHUP.
#ifndef SAFEGUARDING_TRIAGE_POLICY_H_
#define SAFEGUARDING_TRIAGE_POLICY_H_

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/policy.pb.h"
#include "safeguarding/triage/v1/report.pb.h"

namespace safeguarding::triage {

struct SlaTargets {
  // Indexed by Priority (IMMEDIATE = 1 .. ROUTINE = 4); [0] is unused.
  std::array<absl::Duration, 5> by_priority = {absl::ZeroDuration(), absl::Hours(1), absl::Hours(4),
                                               absl::Hours(24), absl::Hours(72)};
  absl::Duration For(v1::Priority p) const { return by_priority[static_cast<size_t>(p)]; }
};

// What statistics call a region the policy does not list.
inline constexpr absl::string_view kOtherRegion = "other";

class TriagePolicy {
 public:
  // Parses and checks the text of a policy file; `file_name` is only used in errors.
  [[nodiscard]] static absl::StatusOr<TriagePolicy> Parse(absl::string_view text,
                                                          absl::string_view file_name);
  // Reads and parses `path`. FAILED_PRECONDITION if it cannot be read.
  [[nodiscard]] static absl::StatusOr<TriagePolicy> LoadFile(const std::string& path);
  // The shipped policy (deploy/config/policy.textproto as built into this binary).
  static const TriagePolicy& Shipped();
  // The text of the shipped file.
  static absl::string_view ShippedText();

  // Assesses a (validated) submission received at `received`.
  v1::TriageAssessment Evaluate(const v1::ReportSubmission& submission, absl::Time received) const;

  // received + the SLA target of `priority`.
  absl::Time DueTime(v1::Priority priority, absl::Time received) const {
    return received + sla_.For(priority);
  }

  const std::string& version() const { return file_.version(); }
  const SlaTargets& sla() const { return sla_; }
  // The declared queues, in file order.
  const std::vector<std::string>& queues() const { return queues_; }
  bool HasQueue(absl::string_view queue) const;
  const v1::PolicyFile& file() const { return file_; }
  // How statistics name `region`: itself when statistics_regions lists it, "" for none,
  // kOtherRegion for any other (free text never becomes a counter key).
  std::string StatisticsRegion(absl::string_view region) const;

 private:
  TriagePolicy(v1::PolicyFile file, SlaTargets sla, std::vector<std::string> queues);

  v1::PolicyFile file_;
  SlaTargets sla_;
  std::vector<std::string> queues_;
  absl::flat_hash_set<std::string> regions_;  // statistics_regions
};

// The policy in force, swapped whole when the file is reloaded. Readers keep the policy
// they got for as long as they use it. Thread-safe.
class PolicyHolder {
 public:
  explicit PolicyHolder(TriagePolicy policy)
      : current_(std::make_shared<const TriagePolicy>(std::move(policy))) {}

  std::shared_ptr<const TriagePolicy> Get() const {
    absl::MutexLock lock(&mu_);
    return current_;
  }
  void Set(TriagePolicy policy) {
    auto next = std::make_shared<const TriagePolicy>(std::move(policy));
    absl::MutexLock lock(&mu_);
    current_.swap(next);
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<const TriagePolicy> current_ ABSL_GUARDED_BY(mu_);
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_POLICY_H_
