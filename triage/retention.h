// Retention: the domain of PurgeExpiredReports and its daily schedule. A closed report
// whose outcome has a retention period (--retention) is purged once that period has passed
// since it was decided: its description, the reporter's contact details and the texts of
// its history are deleted, and a tombstone stays (the id, times, reporter type, assessment
// and outcome, Report.purge_time, a PURGED event), so the statistics it counted in and the
// audit trail still stand. Open reports are never purged. After a purge the report records
// and events it rewrote are compacted, so the old contents leave the store's files (they
// stay in backups taken before, until those age out).
//
// Each purged report is one change under the report's lock, with its own audit entry; a
// purge writes them a chunk at a time (one group commit each) on a thread of its own, so
// the server goes on serving. Before each chunk it records, durably, the id ranges it will
// owe a compaction (ReportRecords::SetCompactionOwed), and clears them once compacted: a
// purge stopped in between (a crash, a stop) is compacted when the store next opens, on
// this thread, before any other purge. One purge runs at a time. Thread-safe; the store and clock
// must outlive it; Stop before the store's committer stops.
#ifndef SAFEGUARDING_TRIAGE_RETENTION_H_
#define SAFEGUARDING_TRIAGE_RETENTION_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"

namespace safeguarding::triage {

// The shortest retention period accepted: a decision is never purged the day it is made.
inline constexpr absl::Duration kMinRetention = absl::Hours(24);

struct RetentionOptions {
  // Outcome -> how long after the decision the report's contents are kept. An outcome not
  // listed is kept for ever. Empty: no purge (PurgeExpiredReports is FAILED_PRECONDITION).
  std::map<v1::Outcome, absl::Duration> periods;
  // Time of day (UTC, since midnight) of the daily purge; nullopt: no schedule.
  std::optional<absl::Duration> daily_at;
  // How often the worker looks at the clock for the schedule (real time).
  absl::Duration schedule_poll = absl::Minutes(1);
  // Reports examined per scan step, and purged per group commit.
  size_t chunk = 256;
  // Told of every run's result, requested or scheduled (the server logs it).
  std::function<void(const Caller& by, const absl::StatusOr<v1::PurgeExpiredReportsResponse>&)>
      on_run;
  // Told of each due report that could not be purged (its id and why; never its contents).
  std::function<void(const std::string& report_id, const absl::Status& why)> on_report_failed;
  // Told when, at start, a compaction an earlier purge owed (it stopped between purging and
  // compacting: a crash, a stop) has run: how many id ranges, and how it went.
  std::function<void(size_t ranges, const absl::Status& how)> on_owed_compaction;
  // Tests only (no flag sets it): a purge leaves its compaction owed, as a crash between
  // the purge and its compaction would.
  bool leave_compaction_owed = false;
};

// "--retention": comma-separated OUTCOME=PERIOD, the outcome as named in the contract
// without its prefix, any case (no_further_action, duplicate, advice_given, ...), the
// period in days ("400d") or as a duration ("36h"); empty: none. INVALID_ARGUMENT naming
// the bad item (an unknown outcome, a repeated one, a period under a day).
[[nodiscard]] absl::StatusOr<std::map<v1::Outcome, absl::Duration>> ParseRetentionPeriods(
    absl::string_view text);
// "--purge_daily_at": HH:MM (UTC); empty: no schedule. INVALID_ARGUMENT otherwise.
[[nodiscard]] absl::StatusOr<std::optional<absl::Duration>> ParseDailyAt(absl::string_view text);
// "no_further_action=400d,duplicate=90d", in outcome order: the periods as the flag names
// them (for the log at start).
std::string DescribeRetention(const std::map<v1::Outcome, absl::Duration>& periods);
// The server's log line for a purge's result (counts only, never contents): "retention
// purge by P: N reports purged of M closed examined"; for a dry run "retention purge by P
// (dry run): N reports would be purged of M closed examined; nothing was changed"; or
// "retention purge by P failed: STATUS".
std::string DescribePurgeRun(const Caller& by,
                             const absl::StatusOr<v1::PurgeExpiredReportsResponse>& result);

class Retention {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  Retention(storage::ReportStore* store, const common::Clock* clock, RetentionOptions options);
  // Stops, then waits for the worker.
  ~Retention();
  Retention(const Retention&) = delete;
  Retention& operator=(const Retention&) = delete;

  // Audited (the call, and each purged report), each entry with the request's terms
  // (AuditEntry.purge: dry run, closed_before). FAILED_PRECONDITION without retention
  // periods; ABORTED while another purge runs; UNAVAILABLE on a storage fault (what was
  // purged before it stays purged; a retry goes on); CANCELLED if the server stops first.
  void Purge(const Caller& caller, const v1::PurgeExpiredReportsRequest& request,
             Done<v1::PurgeExpiredReportsResponse> done);

  // Reports purged since start, and purges that failed (scheduled ones included).
  uint64_t purged_count() const;
  uint64_t failed_runs() const;
  // When the next scheduled purge runs; nullopt without a schedule or periods.
  std::optional<absl::Time> next_scheduled() const;
  // Tells the worker to look at the clock now (tests, after moving a fake clock).
  void Poke();

  // Makes a running purge stop after its chunk and refuses new ones. Idempotent.
  void Stop();

 private:
  struct Request {
    Caller caller;
    std::optional<absl::Time> closed_before;
    bool dry_run = false;
  };
  using Job = absl::AnyInvocable<void() &&>;

  // The audit entry of `request`'s purge: of the call (`report_id` "") or of one report it
  // purged, with the request's terms.
  static v1::AuditEntry AuditEntryOf(const Request& request, absl::string_view report_id);

  void Work();
  // Compacts what an earlier purge left owed (see the class comment), then clears it.
  void CompactOwed();
  // Records as owed the ranges of `purged` and `due` (a chunk about to be purged).
  [[nodiscard]] absl::Status NoteOwed(std::vector<storage::ReportRecords::IdRange> purged,
                                      const std::vector<storage::ReportId>& due);
  // The scheduled purge, if its time has come; then the next time.
  void RunScheduleIfDue();
  [[nodiscard]] absl::StatusOr<v1::PurgeExpiredReportsResponse> Run(const Request& request);
  enum class ChunkResult { kPurged, kNotDue, kFailed };
  // Whether `workflow` (a report's workflow record, or the report) is due for purging at
  // `now`: closed, past its outcome's period, before `closed_before`, not a duplicate
  // whose original is open.
  bool Due(const v1::Report& workflow, absl::Time now,
           const std::optional<absl::Time>& closed_before) const;
  bool OriginalOpen(const v1::Report& report) const;
  // Scans every workflow record and purges what is due (with dry_run: counts it), adding
  // to `response` and (not in a dry run) the id ranges it purged to `purged`. Returns why it
  // stopped early: CANCELLED (stopping), UNAVAILABLE, or a scan that failed.
  [[nodiscard]] absl::Status ScanAndPurge(const Request& request, absl::Time now,
                                          v1::PurgeExpiredReportsResponse& response,
                                          std::vector<storage::ReportRecords::IdRange>& purged);
  static void AddToRanges(const storage::ReportId& id,
                          std::vector<storage::ReportRecords::IdRange>& ranges);
  // The change that purges report `id` (held): nullopt when it is not due (any more).
  [[nodiscard]] absl::StatusOr<std::optional<storage::ReportChange>> PurgeChange(
      const storage::ReportId& id, const Request& request, absl::Time now) const;
  // Purges `ids` (one change each, sharing group commits), each checked again under its
  // lock, taken on this thread; `results` says what became of each. A report that cannot
  // be purged (damaged, a missing key) is skipped as kFailed; returns the first
  // UNAVAILABLE, after which the run stops.
  [[nodiscard]] absl::Status PurgeChunk(const std::vector<storage::ReportId>& ids,
                                        const Request& request, absl::Time now,
                                        std::vector<ChunkResult>& results);
  void ReportFailure(const storage::ReportId& id, const absl::Status& status) const;
  bool stopping() const;

  storage::ReportStore* const store_;
  const common::Clock* const clock_;
  const RetentionOptions options_;

  mutable absl::Mutex mu_;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  Job job_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> next_scheduled_ ABSL_GUARDED_BY(mu_);
  uint64_t purged_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t failed_runs_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<bool> cancel_compaction_{false};
  std::thread worker_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_RETENTION_H_
