// triage-loadgen: a bounded load generator for the triage server, loopback only.
//
// Keeps --concurrency calls in flight (closed loop), or starts calls at --rate per second
// whatever the answers (open loop, latency from each call's intended start), until
// --requests calls have completed or --max_duration has passed, then prints throughput and
// latency percentiles. Methods:
//   submit  ReportIntake.SubmitReport with a distinct request id per call (durable writes)
//   get     TriageDesk.GetReport of --report_id (each read is audited: one durable write)
//   health  grpc.health.v1.Health/Check, the no-op baseline to compare against
//   claim   TriageDesk.ClaimNextReport (a durable claim each; needs waiting reports)
//   cycle   ClaimNextReport, then RecordDecision of what it got: one triage cycle
//   volumes Statistics.GetVolumes: --stats_from..--stats_to by day, by reporter type
//   compare Statistics.CompareVolumes: the first half of that range against the second
//   shifts  Statistics.DetectShifts over that range, by reporter type
//   import  Administration.ImportReports, --import_batch reports a call (historical, decided,
//           new source ids each): throughput counts calls; reports/s = rate x batch
// Calls are spread over --channels connections. It refuses any target that is not a loopback
// address.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/net_address.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "loopback host:port of the server");
ABSL_FLAG(std::string, method, "submit",
          "submit | get | health | claim (ClaimNextReport alone) | cycle (ClaimNextReport then "
          "RecordDecision: one triage cycle, two durable changes); claim and cycle need "
          "reports waiting and a triager token");
ABSL_FLAG(std::string, report_id, "", "report to read with --method=get");
ABSL_FLAG(int32_t, concurrency, 64, "calls kept in flight");
ABSL_FLAG(int32_t, channels, 1,
          "connections to the server, calls spread over them in turn (each its own HTTP/2 "
          "connection)");
ABSL_FLAG(int64_t, requests, 20000, "calls to complete (upper bound)");
ABSL_FLAG(double, rate, 0,
          "open loop: start calls at this many per second whatever the answers (latency counted "
          "from each call's intended start, so queueing is not hidden); --concurrency then caps "
          "the calls in flight. 0: closed loop (--concurrency calls always in flight)");
ABSL_FLAG(absl::Duration, max_duration, absl::Seconds(60), "stop issuing after this long");
ABSL_FLAG(std::string, token, "",
          "bearer token (intake for submit, triager for get); default: env TRIAGE_LOADGEN_TOKEN");
ABSL_FLAG(std::string, run_id, "", "prefix of request ids (default: derived from the time)");
ABSL_FLAG(std::string, stats_from, "2025-12-01",
          "first day (Europe/London) of the statistics methods' range");
ABSL_FLAG(std::string, stats_to, "2026-12-01", "the day after the last of that range");
ABSL_FLAG(int32_t, import_batch, 1000, "reports per ImportReports call (1-1000)");

namespace {

namespace v1 = ::safeguarding::triage::v1;

v1::SubmitReportRequest MakeSubmit(const std::string& run_id, int64_t n) {
  static constexpr v1::ReporterType kTypes[] = {
      v1::REPORTER_TYPE_CHILD, v1::REPORTER_TYPE_PARENT_CARER, v1::REPORTER_TYPE_PROFESSIONAL,
      v1::REPORTER_TYPE_OTHER_ADULT};
  v1::SubmitReportRequest r;
  r.set_request_id(absl::StrCat(run_id, "-", n));
  v1::ReportSubmission& s = *r.mutable_report();
  v1::ReporterType type = kTypes[n % 4];
  s.mutable_reporter()->set_type(type);
  if (type == v1::REPORTER_TYPE_PROFESSIONAL) {
    s.mutable_reporter()->set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER);
  }
  s.set_child_age(static_cast<int>(8 + n % 10));
  s.add_categories(static_cast<v1::ConcernCategory>(1 + n % 7));
  s.add_channels(static_cast<v1::Channel>(1 + n % 7));
  s.set_platform("LoadTestChat");
  s.set_region("Test Region");
  s.set_description(std::string(400, 'x') + " synthetic load-test report " + std::to_string(n));
  return r;
}

google::protobuf::Timestamp Stamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// The statistics methods' range: [from, to) local days in Europe/London.
struct StatsRange {
  absl::Time from, middle, to;
};

// Historical reports, decided a day after they arrived, with source ids of this run.
v1::ImportReportsRequest MakeImport(const std::string& run_id, int64_t n, int batch) {
  v1::ImportReportsRequest request;
  const absl::Time base = absl::Now() - absl::Hours(24 * 300);
  for (int i = 0; i < batch; ++i) {
    const int64_t k = n * batch + i;
    v1::ImportedReport* r = request.add_reports();
    r->set_source_id(absl::StrCat(run_id, "-", k));
    const absl::Time received = base + absl::Seconds(k % (3600 * 24 * 200));
    *r->mutable_received_time() = Stamp(received);
    *r->mutable_submission() = MakeSubmit(run_id, k).report();
    r->set_outcome(static_cast<v1::Outcome>(1 + k % 5));
    *r->mutable_claim_time() = Stamp(received + absl::Hours(2));
    *r->mutable_decision_time() = Stamp(received + absl::Hours(24));
  }
  return request;
}

class LoadRun {
 public:
  LoadRun(const std::vector<std::shared_ptr<grpc::Channel>>& channels, std::string method,
          int64_t total, absl::Duration max_duration, std::string run_id, std::string token,
          std::string report_id, StatsRange range, int import_batch)
      : token_(std::move(token)),
        range_(range),
        import_batch_(import_batch),
        method_(std::move(method)),
        report_id_(std::move(report_id)),
        total_(total),
        deadline_(absl::Now() + max_duration),
        run_id_(std::move(run_id)) {
    for (const std::shared_ptr<grpc::Channel>& channel : channels) {
      stubs_.push_back(Stubs{v1::ReportIntake::NewStub(channel), v1::TriageDesk::NewStub(channel),
                             std::make_unique<grpc::GenericStub>(channel),
                             v1::Statistics::NewStub(channel),
                             v1::Administration::NewStub(channel)});
    }
  }

  void Run(int concurrency, double rate) {
    start_ = absl::Now();
    if (rate > 0) {
      Pace(concurrency, rate);
    } else {
      for (int i = 0; i < concurrency; ++i) StartNext();
    }
    done_.WaitForNotification();
    elapsed_ = absl::Now() - start_;
    // The last callback may still be on its way out after the notification (it touches
    // this object until its final decrement): wait for it before this object can go.
    while (callbacks_running_.load(std::memory_order_acquire) > 0) {
      absl::SleepFor(absl::Microseconds(100));
    }
  }

  void Print(const std::string& method, int concurrency, double rate) {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto pct = [&](double p) {
      if (latencies_us_.empty()) return 0.0;
      size_t i = std::min(latencies_us_.size() - 1,
                          static_cast<size_t>(p * static_cast<double>(latencies_us_.size())));
      return static_cast<double>(latencies_us_[i]) / 1000.0;
    };
    double seconds = absl::ToDoubleSeconds(elapsed_);
    std::printf(
        "method=%s concurrency=%d ok=%lld errors=%lld seconds=%.2f rate_per_s=%.0f "
        "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f%s\n",
        method.c_str(), concurrency, static_cast<long long>(ok_), static_cast<long long>(errors_),
        seconds, static_cast<double>(ok_ + errors_) / seconds, pct(0.5), pct(0.9), pct(0.99),
        pct(0.999), pct(1.0), rate > 0 ? absl::StrCat(" open_loop_rate=", rate).c_str() : "");
    if (!first_error_.empty()) std::printf("first_error=%s\n", first_error_.c_str());
  }

 private:
  struct Call {
    grpc::ClientContext context;
    v1::SubmitReportRequest request;
    v1::SubmitReportResponse response;
    v1::GetReportRequest get_request;
    v1::Report report;
    v1::ClaimNextReportRequest claim_request;
    v1::ClaimNextReportResponse claim_response;
    grpc::ClientContext decide_context;
    v1::RecordDecisionRequest decide_request;
    grpc::ByteBuffer raw_request, raw_response;
    v1::GetVolumesRequest volumes_request;
    v1::GetVolumesResponse volumes_response;
    v1::CompareVolumesRequest compare_request;
    v1::CompareVolumesResponse compare_response;
    v1::DetectShiftsRequest shifts_request;
    v1::DetectShiftsResponse shifts_response;
    v1::ImportReportsRequest import_request;
    v1::ImportReportsResponse import_response;
    absl::Time start;
  };

  struct Stubs {
    std::unique_ptr<v1::ReportIntake::Stub> intake;
    std::unique_ptr<v1::TriageDesk::Stub> desk;
    std::unique_ptr<grpc::GenericStub> generic;
    std::unique_ptr<v1::Statistics::Stub> statistics;
    std::unique_ptr<v1::Administration::Stub> admin;
  };

  // Open loop: call n is due at start + n / rate; it waits (and its latency grows) only
  // while `cap` calls are in flight.
  void Pace(int cap, double rate) {
    open_loop_ = true;
    const absl::Duration interval = absl::Seconds(1.0 / rate);
    for (int64_t n = 0; n < total_; ++n) {
      const absl::Time due = start_ + interval * static_cast<double>(n);
      if (due >= deadline_) break;
      const absl::Time now = absl::Now();
      if (due > now) absl::SleepFor(due - now);
      while (in_flight_.load() >= cap) absl::SleepFor(absl::Microseconds(50));
      issued_.fetch_add(1);
      Issue(n, due);
    }
    pacing_done_.store(true);
    if (in_flight_.load() == 0) MaybeFinish();
  }

  // Closed loop: the next call as soon as one completes.
  void StartNext() {
    int64_t n = issued_.fetch_add(1);
    if (n >= total_ || absl::Now() >= deadline_) {
      if (in_flight_.load() == 0 && !done_.HasBeenNotified()) MaybeFinish();
      return;
    }
    Issue(n, absl::Now());
  }

  void Issue(int64_t n, absl::Time intended_start) {
    in_flight_.fetch_add(1);
    auto* call = new Call;
    call->context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    if (!token_.empty()) call->context.AddMetadata("authorization", "Bearer " + token_);
    call->start = intended_start;
    Stubs& stubs = stubs_[static_cast<size_t>(n) % stubs_.size()];
    v1::TriageDesk::Stub* desk = stubs.desk.get();
    auto on_done = [this, call](grpc::Status status) {
      callbacks_running_.fetch_add(1, std::memory_order_acq_rel);
      Record(absl::Now() - call->start, status);
      delete call;
      const int64_t left = in_flight_.fetch_sub(1) - 1;
      if (!open_loop_) {
        StartNext();
      } else if (left == 0 && pacing_done_.load()) {
        MaybeFinish();
      }
      callbacks_running_.fetch_sub(1, std::memory_order_acq_rel);  // nothing of this after
    };
    if (method_ == "submit") {
      call->request = MakeSubmit(run_id_, n);
      stubs.intake->async()->SubmitReport(&call->context, &call->request, &call->response, on_done);
    } else if (method_ == "claim") {
      desk->async()->ClaimNextReport(&call->context, &call->claim_request, &call->claim_response,
                                     [call, on_done](grpc::Status status) mutable {
                                       if (status.ok() && !call->claim_response.has_report()) {
                                         status = grpc::Status(grpc::StatusCode::NOT_FOUND,
                                                               "no report waiting");
                                       }
                                       on_done(status);
                                     });
    } else if (method_ == "cycle") {
      desk->async()->ClaimNextReport(
          &call->context, &call->claim_request, &call->claim_response,
          [this, call, desk, on_done](grpc::Status status) mutable {
            if (status.ok() && !call->claim_response.has_report()) {
              status = grpc::Status(grpc::StatusCode::NOT_FOUND, "no report waiting");
            }
            if (!status.ok()) return on_done(status);
            call->decide_context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
            if (!token_.empty()) {
              call->decide_context.AddMetadata("authorization", "Bearer " + token_);
            }
            call->decide_request.set_report_id(call->claim_response.report().id());
            call->decide_request.set_claim_id(call->claim_response.claim().claim_id());
            call->decide_request.set_outcome(v1::OUTCOME_NO_FURTHER_ACTION);
            desk->async()->RecordDecision(&call->decide_context, &call->decide_request,
                                          &call->report, on_done);
          });
    } else if (method_ == "get") {
      call->get_request.set_report_id(report_id_);
      desk->async()->GetReport(&call->context, &call->get_request, &call->report, on_done);
    } else if (method_ == "volumes" || method_ == "compare" || method_ == "shifts") {
      IssueStatistics(*call, *stubs.statistics, std::move(on_done));
    } else if (method_ == "import") {
      call->import_request = MakeImport(run_id_, n, import_batch_);
      stubs.admin->async()->ImportReports(
          &call->context, &call->import_request, &call->import_response,
          [call, on_done](grpc::Status status) mutable {
            for (const v1::ImportResult& r : call->import_response.results()) {
              if (status.ok() && r.status() != v1::IMPORT_STATUS_IMPORTED) {
                status = grpc::Status(grpc::StatusCode::ABORTED, "a report was not imported");
              }
            }
            on_done(status);
          });
    } else {
      grpc::Slice empty("");  // an empty HealthCheckRequest: one empty slice, not no slices
      call->raw_request = grpc::ByteBuffer(&empty, 1);
      stubs.generic->UnaryCall(&call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                               &call->raw_request, &call->raw_response, on_done);
    }
  }

  template <typename OnDone>
  void IssueStatistics(Call& call, v1::Statistics::Stub& stub, OnDone on_done) {
    if (method_ == "volumes") {
      v1::GetVolumesRequest& r = call.volumes_request;
      *r.mutable_start_time() = Stamp(range_.from);
      *r.mutable_end_time() = Stamp(range_.to);
      r.set_granularity(v1::GRANULARITY_DAY);
      r.add_group_by(v1::DIMENSION_REPORTER_TYPE);
      r.set_time_zone("Europe/London");
      stub.async()->GetVolumes(&call.context, &r, &call.volumes_response, std::move(on_done));
    } else if (method_ == "compare") {
      v1::CompareVolumesRequest& r = call.compare_request;
      *r.mutable_baseline_start() = Stamp(range_.from);
      *r.mutable_baseline_end() = Stamp(range_.middle);
      *r.mutable_comparison_start() = Stamp(range_.middle);
      *r.mutable_comparison_end() = Stamp(range_.to);
      r.add_group_by(v1::DIMENSION_REPORTER_TYPE);
      r.set_time_zone("Europe/London");
      stub.async()->CompareVolumes(&call.context, &r, &call.compare_response, std::move(on_done));
    } else {
      v1::DetectShiftsRequest& r = call.shifts_request;
      *r.mutable_start_time() = Stamp(range_.from);
      *r.mutable_end_time() = Stamp(range_.to);
      r.add_group_by(v1::DIMENSION_REPORTER_TYPE);
      r.set_time_zone("Europe/London");
      stub.async()->DetectShifts(&call.context, &r, &call.shifts_response, std::move(on_done));
    }
  }

  void MaybeFinish() {
    absl::MutexLock lock(&mu_);
    if (!done_.HasBeenNotified()) done_.Notify();
  }

  void Record(absl::Duration latency, const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    latencies_us_.push_back(absl::ToInt64Microseconds(latency));
    if (status.ok()) {
      ++ok_;
    } else {
      ++errors_;
      if (first_error_.empty()) {
        first_error_ = absl::StrCat(status.error_code(), " ", status.error_message());
      }
    }
  }

  const std::string token_;
  const StatsRange range_;
  const int import_batch_;
  std::vector<Stubs> stubs_;
  const std::string method_;
  const std::string report_id_;
  const int64_t total_;
  const absl::Time deadline_;
  const std::string run_id_;
  absl::Time start_;
  absl::Duration elapsed_;
  std::atomic<int64_t> issued_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> open_loop_{false};
  std::atomic<bool> pacing_done_{false};
  std::atomic<int> callbacks_running_{0};
  absl::Notification done_;
  absl::Mutex mu_;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  int64_t ok_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("Bounded loopback load generator for triage-server.");
  absl::ParseCommandLine(argc, argv);
  const std::string server = absl::GetFlag(FLAGS_server);
  const std::string method = absl::GetFlag(FLAGS_method);
  const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
  if (!safeguarding::services::IsLoopbackAddress(server)) {
    std::fprintf(stderr, "triage-loadgen: refusing non-loopback target %s\n", server.c_str());
    return 2;
  }
  static const char* const kMethods[] = {"submit",  "get",     "health", "claim", "cycle",
                                         "volumes", "compare", "shifts", "import"};
  if (std::find(std::begin(kMethods), std::end(kMethods), method) == std::end(kMethods)) {
    std::fprintf(stderr,
                 "triage-loadgen: --method must be submit, get, health, claim, cycle, volumes, "
                 "compare, shifts or import\n");
    return 2;
  }
  StatsRange range;
  absl::TimeZone london;
  absl::CivilDay from, to;
  if (!absl::LoadTimeZone("Europe/London", &london) ||
      !absl::ParseCivilTime(absl::GetFlag(FLAGS_stats_from), &from) ||
      !absl::ParseCivilTime(absl::GetFlag(FLAGS_stats_to), &to) || to <= from) {
    std::fprintf(stderr, "triage-loadgen: --stats_from < --stats_to, as YYYY-MM-DD\n");
    return 2;
  }
  range.from = absl::FromCivil(from, london);
  range.middle = absl::FromCivil(from + (to - from) / 2, london);
  range.to = absl::FromCivil(to, london);
  const int import_batch = absl::GetFlag(FLAGS_import_batch);
  if (import_batch < 1 || import_batch > 1000) {
    std::fprintf(stderr, "triage-loadgen: --import_batch is 1 to 1000\n");
    return 2;
  }
  if (method == "get" && absl::GetFlag(FLAGS_report_id).empty()) {
    std::fprintf(stderr, "triage-loadgen: --method=get needs --report_id\n");
    return 2;
  }
  std::string run_id = absl::GetFlag(FLAGS_run_id);
  if (run_id.empty()) run_id = absl::StrCat("loadgen-", absl::ToUnixMicros(absl::Now()));

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < std::max(1, absl::GetFlag(FLAGS_channels)); ++i) {
    grpc::ChannelArguments args;
    args.SetInt("triage-loadgen.channel", i);  // distinct arguments: a connection of its own
    channels.push_back(grpc::CreateCustomChannel(server, grpc::InsecureChannelCredentials(), args));
    if (!channels.back()->WaitForConnected(absl::ToChronoTime(absl::Now() + absl::Seconds(10)))) {
      std::fprintf(stderr, "triage-loadgen: cannot connect to %s\n", server.c_str());
      return 4;
    }
  }
  std::string token = absl::GetFlag(FLAGS_token);
  if (const char* env = std::getenv("TRIAGE_LOADGEN_TOKEN"); token.empty() && env != nullptr) {
    token = env;
  }
  LoadRun run(channels, method, absl::GetFlag(FLAGS_requests), absl::GetFlag(FLAGS_max_duration),
              run_id, token, absl::GetFlag(FLAGS_report_id), range, import_batch);
  run.Run(concurrency, absl::GetFlag(FLAGS_rate));
  run.Print(method, concurrency, absl::GetFlag(FLAGS_rate));
  return 0;
}
