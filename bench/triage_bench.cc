// In-process costs on the SubmitReport hot path and beside it: validation, policy,
// fingerprint, ids, key encoding, sealing a description, building one submit's WriteBatch,
// the queue index, counter reads and audit verification on a real store. RPC throughput is
// measured with tools/loadgen (see docs/BENCHMARKS.md).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/digest.h"
#include "rocksdb/write_batch.h"
#include "storage/audit_chain.h"
#include "storage/counter_cells.h"
#include "storage/counter_keys.h"
#include "storage/counter_reader.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"
#include "storage/queue_index.h"
#include "storage/report_codec.h"
#include "storage/report_id.h"
#include "storage/report_store.h"
#include "triage/intake.h"
#include "triage/policy.h"
#include "triage/validation.h"
#include "triage/volume_cells.h"

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

void BM_ReportIdParse(benchmark::State& state) {
  const std::string text = storage::ReportId::Generate(absl::Now()).ToString();
  for (auto _ : state) benchmark::DoNotOptimize(storage::ReportId::Parse(text));
}
BENCHMARK(BM_ReportIdParse);

// The keys one submit writes besides the report's own: its event, its idempotency record,
// its audit entry and that entry's index by report.
void BM_SubmitKeysEncode(benchmark::State& state) {
  const storage::ReportId id = storage::ReportId::Generate(absl::Now());
  const std::string text = id.ToString();
  for (auto _ : state) {
    benchmark::DoNotOptimize(storage::EventKey(id, 1));
    benchmark::DoNotOptimize(
        storage::RequestKey("intake-web", "0b6f4d4e-8d0c-4a57-9d7e-3f2b1c0a9e11"));
    const std::string audit = storage::AuditKey(1767225600000000, 123456);
    benchmark::DoNotOptimize(storage::AuditByReportKey(text, audit));
  }
}
BENCHMARK(BM_SubmitKeysEncode);

// A counter key built in place from values encoded once (as a submit's ~23 keys are).
void BM_CounterKeyBuild(benchmark::State& state) {
  std::string type, region;
  storage::AppendGroupPart(&type, 1, "3");
  storage::AppendGroupPart(&region, 7, "West Yorkshire");
  std::string key;
  for (auto _ : state) {
    key.clear();
    storage::AppendKeyOfParts(&key, 1, {type, region}, 20454);
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_CounterKeyBuild);

v1::Report SampleReport(size_t description_bytes) {
  v1::Report report;
  report.set_id(storage::ReportId::Generate(absl::Now()).ToString());
  *report.mutable_submission() = SampleRequest().report();
  report.mutable_submission()->set_description(std::string(description_bytes, 'x'));
  report.mutable_submission()->mutable_reporter()->mutable_contact()->set_email("a@example.org");
  report.mutable_triage()->set_priority(v1::PRIORITY_URGENT);
  report.mutable_triage()->set_queue("professional");
  report.set_state(v1::REPORT_STATE_QUEUED);
  return report;
}

// Sealing a report (AES-256-GCM of the description and contact details, the rest
// authenticated): range(0) description bytes (122 is the synthetic reports' mean).
void BM_SealReport(benchmark::State& state) {
  const storage::KeyRing ring = *storage::KeyRing::FromKeys({std::string(32, 'k')});
  const v1::Report report = SampleReport(static_cast<size_t>(state.range(0)));
  const storage::ReportId id = *storage::ReportId::Parse(report.id());
  for (auto _ : state) benchmark::DoNotOptimize(storage::SealReport(report, id, ring));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_SealReport)->Arg(122)->Arg(2000);

// One submit's WriteBatch as the committer writes it: the sealed report, its event, its
// queue entry, its idempotency record, its chained audit entry and index entry, and its
// statistics cells as counter operands (one per cell; the committer sums a batch's cells
// per key first, so a busy batch writes fewer).
rocksdb::Slice AsSlice(absl::string_view v) { return {v.data(), v.size()}; }

void BM_SubmitWriteBatch(benchmark::State& state) {
  const storage::KeyRing ring = *storage::KeyRing::FromKeys({std::string(32, 'k')});
  const std::string chain_key(32, 'c');
  const v1::Report report = SampleReport(122);
  const storage::ReportId id = *storage::ReportId::Parse(report.id());
  v1::AuditEntry audit;
  audit.set_principal("intake-web");
  audit.set_method("/safeguarding.triage.v1.ReportIntake/SubmitReport");
  audit.set_report_id(report.id());
  uint64_t sequence = 0;
  for (auto _ : state) {
    rocksdb::WriteBatch batch;
    benchmark::DoNotOptimize(
        batch.Put(AsSlice(id.bytes()), *storage::SealReport(report, id, ring)));
    benchmark::DoNotOptimize(batch.Put(storage::EventKey(id, 1), report.submission().platform()));
    benchmark::DoNotOptimize(
        batch.Put(storage::QueueKey("professional", 2, 1767225600000000, id), ""));
    benchmark::DoNotOptimize(
        batch.Put(storage::RequestKey("intake-web", "request-1"), AsSlice(id.bytes())));
    v1::AuditEntry entry = audit;
    entry.set_sequence(++sequence);
    entry.set_hash(storage::AuditEntryHash(entry, chain_key));
    const std::string audit_key = storage::AuditKey(1767225600000000, sequence);
    benchmark::DoNotOptimize(batch.Put(audit_key, entry.SerializeAsString()));
    benchmark::DoNotOptimize(batch.Put(storage::AuditByReportKey(report.id(), audit_key), ""));
    for (const storage::CellCounts::Cell c : triage::ReceivedCells(report, "West Yorkshire")) {
      const std::pair<uint16_t, uint64_t> delta{c.index, c.delta};
      benchmark::DoNotOptimize(batch.Merge(AsSlice(c.key), storage::CounterOperand({&delta, 1})));
    }
    benchmark::DoNotOptimize(batch.Data().size());
  }
}
BENCHMARK(BM_SubmitWriteBatch);

// A real store for the benchmarks that read one; removed afterwards.
class BenchStore {
 public:
  BenchStore() {
    char tmpl[] = "/tmp/triage-bench-XXXXXX";
    dir_ = mkdtemp(tmpl);
    for (const char* name : {"/key", "/audit-key"}) {
      if (!storage::CreateKeyFileIfMissing(dir_ + name).ok()) return;
    }
    storage::StoreOptions options;
    options.path = dir_ + "/db";
    options.key_file = dir_ + "/key";
    options.audit_key_file = dir_ + "/audit-key";
    absl::StatusOr<std::unique_ptr<storage::ReportStore>> store =
        storage::ReportStore::Open(options);
    if (store.ok()) store_ = *std::move(store);
  }
  ~BenchStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  storage::ReportStore* get() { return store_.get(); }
  // Commits `m` and waits until it is durable.
  bool Commit(storage::Mutation m) {
    absl::Notification committed;
    absl::Status status;
    store_->engine().committer().Commit(std::move(m), [&](absl::Status s) {
      status = s;
      committed.Notify();
    });
    committed.WaitForNotification();
    return status.ok();
  }

 private:
  std::string dir_;
  std::unique_ptr<storage::ReportStore> store_;
};

// The queue index in memory: a report becomes waiting, and the next one is taken, with
// range(0) reports waiting over five queues and four priorities.
void BM_QueueIndexWaitAndTake(benchmark::State& state) {
  BenchStore store;
  if (store.get() == nullptr) return state.SkipWithError("open");
  storage::QueueIndex& index = store.get()->queue();
  const std::vector<std::string> queues{"child", "parent", "professional", "online", "other"};
  const int64_t base = 1767225600000000;
  for (int64_t i = 0; i < state.range(0); ++i) {
    index.ApplyWaiting({queues[static_cast<size_t>(i) % 5], static_cast<uint8_t>(1 + i % 4),
                        base + i * 1000, storage::ReportId::Generate(absl::Now())});
  }
  int64_t n = state.range(0);
  for (auto _ : state) {
    index.ApplyWaiting({queues[static_cast<size_t>(n) % 5], static_cast<uint8_t>(1 + n % 4),
                        base + n * 1000, storage::ReportId::Generate(absl::Now())});
    ++n;
    benchmark::DoNotOptimize(index.TakeNext(queues));
  }
}
BENCHMARK(BM_QueueIndexWaitAndTake)->Arg(1000)->Arg(1000000)->Unit(benchmark::kMicrosecond);

// Counter reads on a real store: a year of hourly counters for the four reporter types,
// read back day by day (one scan per group, on one snapshot), as GetVolumes reads them.
void BM_CounterReadYearByReporterType(benchmark::State& state) {
  BenchStore store;
  if (store.get() == nullptr) return state.SkipWithError("open");
  constexpr int32_t kFirstDay = 20454;  // 2026-01-01
  for (int32_t day = kFirstDay; day < kFirstDay + 365; ++day) {
    storage::Mutation m;
    for (const char* type : {"1", "2", "3", "4"}) {
      for (uint16_t hour = 0; hour < 24; ++hour) {
        m.Count(*storage::CounterKey(1, {{1, type}}, day), hour, 1 + (day + hour) % 7);
      }
    }
    if (!store.Commit(std::move(m))) return state.SkipWithError("commit");
  }
  for (auto _ : state) {
    storage::CounterReader reader(store.get()->engine());
    uint64_t total = 0;
    for (const char* type : {"1", "2", "3", "4"}) {
      absl::Status s = reader.Scan(1, {{1, type}}, kFirstDay, kFirstDay + 364,
                                   [&](int32_t, const std::vector<uint64_t>& cells) {
                                     for (uint64_t c : cells) total += c;
                                   });
      if (!s.ok()) state.SkipWithError("scan");
    }
    benchmark::DoNotOptimize(total);
  }
  state.SetItemsProcessed(state.iterations() * 4 * 365);
}
BENCHMARK(BM_CounterReadYearByReporterType)->Unit(benchmark::kMicrosecond);

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
