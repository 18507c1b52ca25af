// In-process costs on the SubmitReport hot path: validation, policy, fingerprint, id and
// key encoding. RPC throughput is measured with tools/loadgen (see docs/BENCHMARKS.md).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "storage/key_encoding.h"
#include "storage/report_id.h"
#include "storage/report_store.h"
#include "triage/intake.h"
#include "triage/policy.h"
#include "triage/validation.h"

namespace {

namespace v1 = ::safeguarding::triage::v1;
using namespace safeguarding;  // NOLINT: benchmark file

v1::SubmitReportRequest SampleRequest() {
  v1::SubmitReportRequest r;
  r.set_request_id("0b6f4d4e-8d0c-4a57-9d7e-3f2b1c0a9e11");
  v1::ReportSubmission& s = *r.mutable_report();
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_PROFESSIONAL);
  s.mutable_reporter()->set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER);
  s.set_child_age(12);
  s.add_categories(v1::CONCERN_CATEGORY_GROOMING);
  s.add_categories(v1::CONCERN_CATEGORY_SEXUAL_EXTORTION);
  s.add_channels(v1::CHANNEL_MESSAGING);
  s.set_platform("ExampleChat");
  s.set_region("West Yorkshire");
  s.set_description(std::string(2000, 'x'));
  return r;
}

void BM_ValidateSubmitReport(benchmark::State& state) {
  const v1::SubmitReportRequest request = SampleRequest();
  for (auto _ : state) benchmark::DoNotOptimize(triage::ValidateSubmitReport(request));
}
BENCHMARK(BM_ValidateSubmitReport);

void BM_PolicyEvaluate(benchmark::State& state) {
  const v1::SubmitReportRequest request = SampleRequest();
  const triage::TriagePolicy& policy = triage::TriagePolicy::Shipped();
  const absl::Time now = absl::Now();
  for (auto _ : state) benchmark::DoNotOptimize(policy.Evaluate(request.report(), now));
}
BENCHMARK(BM_PolicyEvaluate);

void BM_Fingerprint(benchmark::State& state) {
  const v1::SubmitReportRequest request = SampleRequest();
  for (auto _ : state) benchmark::DoNotOptimize(triage::Intake::Fingerprint(request.report()));
}
BENCHMARK(BM_Fingerprint);

void BM_ReportIdGenerateAndFormat(benchmark::State& state) {
  const absl::Time now = absl::Now();
  for (auto _ : state) benchmark::DoNotOptimize(storage::ReportId::Generate(now).ToString());
}
BENCHMARK(BM_ReportIdGenerateAndFormat);

void BM_QueueKeyEncodeParse(benchmark::State& state) {
  const storage::ReportId id = storage::ReportId::Generate(absl::Now());
  for (auto _ : state) {
    std::string key = storage::QueueKey("professional", 2, 1767225600000000, id);
    benchmark::DoNotOptimize(storage::ParseQueueKey(key));
  }
}
BENCHMARK(BM_QueueKeyEncodeParse);

// verify-audit on a real store: walking `range(0)` stored entries (RocksDB iteration,
// parsing, one HMAC and one SHA-256 per entry, the signed head).
void BM_VerifyStoredAuditTrail(benchmark::State& state) {
  char tmpl[] = "/tmp/triage-bench-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  for (const char* name : {"/key", "/audit-key"}) {
    if (!storage::CreateKeyFileIfMissing(dir + name).ok()) state.SkipWithError("key file");
  }
  storage::StoreOptions options;
  options.path = dir + "/db";
  options.key_file = dir + "/key";
  options.audit_key_file = dir + "/audit-key";
  {
    auto store = storage::ReportStore::Open(options);
    if (!store.ok()) {
      state.SkipWithError("open");
      return;
    }
    const int64_t entries = state.range(0);
    for (int64_t done = 1; done < entries; done += 1000) {
      // Queued together, so the committer groups them as a busy server's batches.
      const int n = static_cast<int>(std::min<int64_t>(1000, entries - done));
      std::atomic<int> left{n};
      absl::Notification committed;
      for (int i = 0; i < n; ++i) {
        v1::AuditEntry e;
        e.set_principal(absl::StrCat("triager-", i % 40));
        e.set_role(v1::ROLE_TRIAGER);
        e.set_method("/safeguarding.triage.v1.TriageDesk/GetReport");
        e.set_report_id(storage::ReportId::Generate(absl::Now()).ToString());
        e.set_peer("ipv4:10.0.0.12:53422");
        (*store)->audit().Record(std::move(e), [&](absl::Status) {
          if (--left == 0) committed.Notify();
        });
      }
      committed.WaitForNotification();
    }
    for (auto _ : state) {
      auto verified = (*store)->audit().Verify({});
      if (!verified.ok() || !verified->intact) state.SkipWithError("not intact");
      benchmark::DoNotOptimize(verified);
    }
    state.SetItemsProcessed(state.iterations() * entries);
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_VerifyStoredAuditTrail)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
