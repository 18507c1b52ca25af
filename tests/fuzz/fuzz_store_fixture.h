// A real ReportStore for the fuzz targets that go through the domain objects (page tokens,
// imports): opened once per process in a fresh directory under $TMPDIR (scripts/fuzz.sh
// points it at a tmpfs directory of its own and removes it afterwards), with a fake clock
// at FuzzNow() and the shipped policy. Calls block until the domain's callback ran (the
// committer thread answers once the audit entry is durable).
#ifndef SAFEGUARDING_TESTS_FUZZ_FUZZ_STORE_FIXTURE_H_
#define SAFEGUARDING_TESTS_FUZZ_FUZZ_STORE_FIXTURE_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/clock.h"
#include "storage/report_store.h"
#include "triage/caller.h"
#include "triage/policy.h"

namespace safeguarding::fuzz {

namespace v1 = ::safeguarding::triage::v1;

class FuzzStore {
 public:
  // The process's store; aborts (a broken fixture, not a finding) if it cannot be opened.
  static FuzzStore& Get();

  storage::ReportStore& store() { return *store_; }
  common::FakeClock& clock() { return clock_; }
  const triage::PolicyHolder& policy() const { return policy_; }

  // A supervisor calling `method` (e.g. "/safeguarding.triage.v1.TriageDesk/ListReports").
  static triage::Caller Supervisor(std::string method);

  // Runs `call(done)` and waits for `done` to be called with its answer.
  template <typename T, typename Call>
  [[nodiscard]] static absl::StatusOr<T> Await(Call call) {
    absl::Notification finished;
    absl::StatusOr<T> answer = absl::UnknownError("no answer");
    call([&](absl::StatusOr<T> a) {
      answer = std::move(a);
      finished.Notify();
    });
    finished.WaitForNotification();
    return answer;
  }

 private:
  FuzzStore();

  std::string dir_;
  common::FakeClock clock_;
  triage::PolicyHolder policy_;
  std::unique_ptr<storage::ReportStore> store_;
};

// For each target's LLVMFuzzerInitialize: protobuf's log lines (a string field with bad
// UTF-8 on every other input) would slow the run and bury its output.
void QuietProtobufLogs();

// Aborts with `what` when `condition` is false: a broken invariant is a finding, and
// libFuzzer keeps the input that led to it.
void FuzzCheck(bool condition, const char* what);

}  // namespace safeguarding::fuzz

#endif  // SAFEGUARDING_TESTS_FUZZ_FUZZ_STORE_FIXTURE_H_
