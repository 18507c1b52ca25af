// Fuzzes the policy file parser (triage::TriagePolicy::Parse): the input is the text of a
// policy file, seeded from deploy/config/policy.textproto.
//
// Asserts: a refused file is INVALID_ARGUMENT whose message starts with "triage policy
// refused:" and names the file. An accepted file has what the parser promises (a version of
// 1 to 64 printable characters, at least one queue, each declared once, an SLA target of 1m
// to 720h for every priority, statistics regions that count as themselves and never as
// "other"), can be evaluated on every sample report at several times (priority IMMEDIATE to
// ROUTINE, a declared queue, the due time of that priority, the file's version, matched
// rules that the file names), and survives a round trip: printed back as text format it is
// accepted again and assesses every sample the same way.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "tests/fuzz/fuzz_store_fixture.h"
#include "tests/fuzz/sample_submissions.h"
#include "triage/policy.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using triage::TriagePolicy;

constexpr char kFileName[] = "fuzz/policy.textproto";

std::vector<absl::Time> ReceivedTimes() {
  return {FuzzNow(), absl::UnixEpoch(), FuzzNow() - absl::Hours(24 * 365 * 30)};
}

void CheckShape(const TriagePolicy& policy) {
  const std::string& version = policy.version();
  FuzzCheck(!version.empty() && version.size() <= 64 &&
                std::all_of(version.begin(), version.end(), absl::ascii_isgraph),
            "accepted version is not 1 to 64 printable characters");
  FuzzCheck(!policy.queues().empty(), "accepted a policy without queues");
  absl::flat_hash_set<std::string> queues(policy.queues().begin(), policy.queues().end());
  FuzzCheck(queues.size() == policy.queues().size(), "a queue declared twice");
  for (int p = v1::PRIORITY_IMMEDIATE; p <= v1::PRIORITY_ROUTINE; ++p) {
    const absl::Duration target = policy.sla().For(static_cast<v1::Priority>(p));
    FuzzCheck(target >= absl::Minutes(1) && target <= absl::Hours(720), "SLA target out of range");
  }
  for (const std::string& region : policy.file().statistics_regions()) {
    FuzzCheck(policy.StatisticsRegion(region) == region,
              "a listed region does not count as itself");
  }
  FuzzCheck(policy.StatisticsRegion("").empty(), "no region counts as a region");
  FuzzCheck(policy.StatisticsRegion(std::string(65, 'z')) == triage::kOtherRegion,
            "an unlisted region does not count as other");
}

void CheckAssessment(const TriagePolicy& policy, const v1::TriageAssessment& a,
                     absl::Time received) {
  FuzzCheck(a.priority() >= v1::PRIORITY_IMMEDIATE && a.priority() <= v1::PRIORITY_ROUTINE,
            "assessed priority out of range");
  FuzzCheck(policy.HasQueue(a.queue()), "assessed into an undeclared queue");
  FuzzCheck(a.policy_version() == policy.version(), "assessment names another version");
  FuzzCheck(TimeUtil::TimestampToMicroseconds(a.due_time()) ==
                absl::ToUnixMicros(received + policy.sla().For(a.priority())),
            "due time is not received + the priority's target");
  for (const std::string& name : a.matched_rules()) {
    FuzzCheck(std::any_of(policy.file().rules().begin(), policy.file().rules().end(),
                          [&](const v1::PolicyRule& r) { return r.name() == name; }),
              "matched a rule the policy does not have");
  }
}

void CheckAccepted(const TriagePolicy& policy) {
  CheckShape(policy);
  std::string printed;
  FuzzCheck(google::protobuf::TextFormat::PrintToString(policy.file(), &printed),
            "an accepted policy cannot be printed");
  absl::StatusOr<TriagePolicy> again = TriagePolicy::Parse(printed, kFileName);
  FuzzCheck(again.ok(), "an accepted policy, printed back, is refused");
  for (const v1::ReportSubmission& s : SampleSubmissions()) {
    for (absl::Time received : ReceivedTimes()) {
      const v1::TriageAssessment a = policy.Evaluate(s, received);
      CheckAssessment(policy, a, received);
      FuzzCheck(MessageDifferencer::Equals(a, again->Evaluate(s, received)),
                "the printed policy assesses differently");
    }
  }
}

}  // namespace
}  // namespace safeguarding::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  safeguarding::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): the entry point only
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<TriagePolicy> policy = TriagePolicy::Parse(text, kFileName);
  if (policy.ok()) {
    CheckAccepted(*policy);
  } else {
    FuzzCheck(policy.status().code() == absl::StatusCode::kInvalidArgument,
              "a refused policy is not INVALID_ARGUMENT");
    FuzzCheck(absl::StartsWith(policy.status().message(),
                               absl::StrCat("triage policy refused:\n  ", kFileName)),
              "a refusal does not start by naming the file");
  }
  return 0;
}
