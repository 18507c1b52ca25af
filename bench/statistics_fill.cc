// triage-statistics-fill: gives a fresh data directory the statistics of millions of
// reports, for benchmarking the statistics RPCs at the scale of years of reports.
//
// It generates reports with the model of `triagectl generate` (seasonality, holidays, a
// shift), assesses and counts each exactly as ImportReports does (triage::ImportedRecordOf:
// the shipped policy, received and decided cells), adds the cells up in memory and writes
// each counter once, as its merged value, then flushes and compacts the statistics family:
// the state a store reaches once a year of changes has been compacted. Statistics read
// only that family, so by default the reports themselves are not written. Refuses a store
// that has counters already.
//
// With --write_reports it writes every report whole instead, through the import's own
// write (ReportRecords::Import, 2,000 a synced batch: sealed contents, events, workflow,
// source id, audit entry and counters, exactly what ImportReports stores), for measuring
// start-up and memory with millions of stored reports (docs/BENCHMARKS.md).
//
//   triage-statistics-fill --data_dir D --key_file K --audit_key_file A
//                          [--reports 10000000] [--start 2025-12-01] [--days 365]
//                          [--shift professional:-40@2026-06-01] [--seed 1] [--write_reports]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "rocksdb/db.h"
#include "rocksdb/write_batch.h"
#include "storage/counter_cells.h"
#include "storage/report_store.h"
#include "tools/triagectl/generate.h"
#include "triage/import.h"
#include "triage/policy.h"

ABSL_FLAG(std::string, data_dir, "", "data directory (created; must hold no statistics)");
ABSL_FLAG(std::string, key_file, "", "data key file (created if missing)");
ABSL_FLAG(std::string, audit_key_file, "", "audit key file (created if missing)");
ABSL_FLAG(int64_t, reports, 10000000, "reports to count (about; daily counts are random)");
ABSL_FLAG(std::string, start, "2025-12-01", "first local day (Europe/London)");
ABSL_FLAG(int32_t, days, 365, "days");
ABSL_FLAG(std::string, shift, "professional:-40@2026-06-01", "a shift, as triagectl generate's");
ABSL_FLAG(uint64_t, seed, 1, "seed of the generator");
ABSL_FLAG(bool, write_reports, false,
          "write every report whole (as ImportReports does), not only the counters");

namespace {

namespace v1 = ::safeguarding::triage::v1;
using safeguarding::storage::ColumnFamily;

using Counters = absl::flat_hash_map<std::string, std::vector<uint64_t>>;

int Fail(const std::string& what) {
  std::fprintf(stderr, "triage-statistics-fill: %s\n", what.c_str());
  return 1;
}

// Generates and counts every report; returns how many.
uint64_t Count(const safeguarding::tools::GenerateOptions& options, Counters& counters) {
  const safeguarding::triage::TriagePolicy& policy = safeguarding::triage::TriagePolicy::Shipped();
  const safeguarding::triage::Caller caller{.principal = "statistics-fill", .role = v1::ROLE_ADMIN};
  const absl::Time began = absl::Now();
  return safeguarding::tools::Generate(options, [&](const v1::ImportedReport& r) {
    for (const auto& cell : safeguarding::triage::ImportedRecordOf(r, policy, caller).counts) {
      std::vector<uint64_t>& cells = counters[cell.key];
      if (cells.size() <= cell.index) cells.resize(cell.index + 1);
      cells[cell.index] += cell.delta;
    }
    static uint64_t n = 0;
    if (++n % 1000000 == 0) {
      std::fprintf(stderr, "%llu reports counted (%.0f s), %zu counters\n",
                   static_cast<unsigned long long>(n), absl::ToDoubleSeconds(absl::Now() - began),
                   counters.size());
    }
  });
}

// Generates every report and writes it whole, as the import does, 2,000 a synced batch;
// returns how many, or the first failure.
[[nodiscard]] absl::StatusOr<uint64_t> WriteReports(
    const safeguarding::tools::GenerateOptions& options,
    safeguarding::storage::ReportStore& store) {
  const safeguarding::triage::TriagePolicy& policy = safeguarding::triage::TriagePolicy::Shipped();
  const safeguarding::triage::Caller caller{.principal = "statistics-fill", .role = v1::ROLE_ADMIN};
  const absl::Time began = absl::Now();
  std::vector<safeguarding::storage::ImportedRecord> batch;
  absl::Status failed;
  uint64_t written = 0;
  auto flush = [&] {
    if (batch.empty() || !failed.ok()) return;
    const size_t n = batch.size();
    absl::Notification done;
    store.reports().Import(std::move(batch), [&](absl::Status s) {
      failed = s;
      done.Notify();
    });
    done.WaitForNotification();
    batch.clear();
    if (written / 1000000 != (written + n) / 1000000) {
      std::fprintf(stderr, "%llu reports written (%.0f s)\n",
                   static_cast<unsigned long long>(written + n),
                   absl::ToDoubleSeconds(absl::Now() - began));
    }
    written += n;
  };
  safeguarding::tools::Generate(options, [&](const v1::ImportedReport& r) {
    batch.push_back(safeguarding::triage::ImportedRecordOf(r, policy, caller));
    if (batch.size() == 2000) flush();
  });
  flush();
  if (!failed.ok()) return failed;
  return written;
}

// The generator's options from the flags; nullopt (after saying why) if they are wrong.
std::optional<safeguarding::tools::GenerateOptions> OptionsFromFlags() {
  safeguarding::tools::GenerateOptions options;
  if (!absl::ParseCivilTime(absl::GetFlag(FLAGS_start), &options.start)) {
    Fail("--start: YYYY-MM-DD");
    return std::nullopt;
  }
  options.days = absl::GetFlag(FLAGS_days);
  options.seed = absl::GetFlag(FLAGS_seed);
  options.reports_per_day =
      static_cast<double>(absl::GetFlag(FLAGS_reports)) / std::max(1, options.days);
  if (!absl::LoadTimeZone("Europe/London", &options.zone)) {
    Fail("no Europe/London time zone");
    return std::nullopt;
  }
  options.now = absl::FromCivil(options.start + options.days + 1, options.zone);
  if (!absl::GetFlag(FLAGS_shift).empty()) {
    absl::StatusOr<safeguarding::tools::Shift> shift =
        safeguarding::tools::ParseShiftFlag(absl::GetFlag(FLAGS_shift));
    if (!shift.ok()) {
      Fail(std::string(shift.status().message()));
      return std::nullopt;
    }
    options.shifts.push_back(*shift);
  }
  return options;
}

// Each counter once, as its value; then the family flushed and compacted.
rocksdb::Status Write(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family,
                      const Counters& counters) {
  rocksdb::WriteBatch batch;
  for (const auto& [key, cells] : counters) {
    batch.Put(family, key, safeguarding::storage::EncodeCounterCells(cells));
    if (batch.Count() == 10000) {
      if (rocksdb::Status s = db.Write(rocksdb::WriteOptions(), &batch); !s.ok()) return s;
      batch.Clear();
    }
  }
  rocksdb::WriteOptions synced;
  synced.sync = true;
  if (rocksdb::Status s = db.Write(synced, &batch); !s.ok()) return s;
  if (rocksdb::Status s = db.Flush(rocksdb::FlushOptions(), family); !s.ok()) return s;
  return db.CompactRange(rocksdb::CompactRangeOptions(), family, nullptr, nullptr);
}

bool HasStatistics(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
  rocksdb::ReadOptions read;
  read.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(read, family));
  it->SeekToFirst();
  return it->Valid();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Fills a fresh store's statistics with millions of reports");
  absl::ParseCommandLine(argc, argv);
  safeguarding::storage::StoreOptions store_options;
  store_options.path = absl::GetFlag(FLAGS_data_dir);
  store_options.key_file = absl::GetFlag(FLAGS_key_file);
  store_options.audit_key_file = absl::GetFlag(FLAGS_audit_key_file);
  if (store_options.path.empty() || store_options.key_file.empty() ||
      store_options.audit_key_file.empty()) {
    return Fail("--data_dir, --key_file and --audit_key_file are required");
  }
  for (const std::string& file : {store_options.key_file, store_options.audit_key_file}) {
    if (absl::Status s = safeguarding::storage::CreateKeyFileIfMissing(file); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  const std::optional<safeguarding::tools::GenerateOptions> options = OptionsFromFlags();
  if (!options) return 2;
  auto store = safeguarding::storage::ReportStore::Open(store_options);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  rocksdb::DB& db = *(*store)->engine().db();
  rocksdb::ColumnFamilyHandle* family = (*store)->engine().handle(ColumnFamily::kStatistics);
  if (HasStatistics(db, family)) return Fail("the store has statistics already: use a fresh one");

  const absl::Time began = absl::Now();
  if (absl::GetFlag(FLAGS_write_reports)) {
    absl::StatusOr<uint64_t> written = WriteReports(*options, **store);
    if (!written.ok()) return Fail(std::string(written.status().message()));
    std::printf("wrote %llu reports over %d days from %s, whole (%.0f s)\n",
                static_cast<unsigned long long>(*written), options->days,
                absl::FormatCivilTime(options->start).c_str(),
                absl::ToDoubleSeconds(absl::Now() - began));
    return 0;
  }
  Counters counters;
  const uint64_t reports = Count(*options, counters);
  const absl::Time counted = absl::Now();
  if (rocksdb::Status s = Write(db, family, counters); !s.ok()) return Fail(s.ToString());
  std::printf(
      "counted %llu reports over %d days from %s into %zu counters (%.0f s), written and "
      "compacted (%.0f s)\n",
      static_cast<unsigned long long>(reports), options->days,
      absl::FormatCivilTime(options->start).c_str(), counters.size(),
      absl::ToDoubleSeconds(counted - began), absl::ToDoubleSeconds(absl::Now() - counted));
  return 0;
}
