#include "tools/loadgen/load_run.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"

namespace safeguarding::loadgen {
namespace {

namespace v1 = ::safeguarding::triage::v1;

google::protobuf::Timestamp Stamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

// A claim that found nothing waiting is not the work asked for: counted as NOT_FOUND. (An
// import with a report not imported counts as ABORTED, where the import is issued.)
grpc::Status NotFoundUnlessClaimed(grpc::Status status, const v1::ClaimNextReportResponse& r) {
  if (status.ok() && !r.has_report()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "no report waiting");
  }
  return status;
}

// Each role's "authorization" value, made once rather than per call ("" for no token).
Tokens BearersOf(Tokens tokens) {
  for (std::string* token : {&tokens.intake, &tokens.triager, &tokens.statistics, &tokens.admin}) {
    if (!token->empty()) *token = absl::StrCat("Bearer ", *token);
  }
  return tokens;
}

}  // namespace

int64_t MethodResult::error_count() const {
  int64_t n = 0;
  for (const auto& [code, count] : errors) n += count;
  return n;
}

void MethodResult::Merge(const MethodResult& other) {
  latency.Merge(other.latency);
  ok_latency.Merge(other.ok_latency);
  ok += other.ok;
  throttled += other.throttled;
  for (const auto& [code, count] : other.errors) errors[code] += count;
}

MethodResult RunResult::Total() const {
  MethodResult total;
  for (const auto& [method, result] : methods) total.Merge(result);
  return total;
}

struct LoadRun::Call {
  virtual ~Call() = default;
  grpc::ClientContext context;
  Method method = Method::kHealth;
  absl::Time due;
};

template <typename Request, typename Response>
struct LoadRun::UnaryCall : Call {
  Request request;
  Response response;
};

struct LoadRun::CycleCall : Call {
  v1::ClaimNextReportRequest claim_request;
  v1::ClaimNextReportResponse claim_response;
  grpc::ClientContext decide_context;
  v1::RecordDecisionRequest decide_request;
  v1::Report report;
};

LoadRun::LoadRun(const std::vector<std::shared_ptr<grpc::Channel>>& channels, RunOptions options,
                 Tokens tokens, const ReportPool* pool)
    : options_(std::move(options)), bearers_(BearersOf(std::move(tokens))), pool_(pool) {
  for (const std::shared_ptr<grpc::Channel>& channel : channels) {
    stubs_.push_back(Stubs{v1::TriageDesk::NewStub(channel),
                           std::make_unique<grpc::GenericStub>(channel),
                           v1::Statistics::NewStub(channel), v1::Administration::NewStub(channel)});
  }
  if (options_.client_throttle > 0) {
    throttle_ = std::make_unique<AdaptiveThrottle>(options_.client_throttle, absl::Seconds(2));
  }
}

RunResult LoadRun::Run() {
  start_ = absl::Now();
  deadline_ = start_ + options_.max_duration;
  if (Open()) {
    Pace();
  } else {
    for (int i = 0; i < options_.concurrency; ++i) StartNext();
  }
  done_.WaitForNotification();
  RunResult result;
  result.elapsed = absl::Now() - start_;
  // The last callback may still be on its way out after the notification (it touches this
  // object until its final decrement): wait for it before this object can go.
  while (callbacks_running_.load(std::memory_order_acquire) > 0) {
    absl::SleepFor(absl::Microseconds(100));
  }
  result.issue_lag = std::move(issue_lag_);  // the pacing thread is done
  absl::MutexLock lock(&mu_);
  result.methods = std::move(results_);
  return result;
}

// Open loop: call n is due at start + n / rate; it waits (and its latency grows) only while
// `concurrency` calls are in flight. The pacer wakes at most once per kPacingTick and
// then issues every call due by then: at thousands of calls a second, a sleep per call
// would cost the generator more CPU (context switches) than the calls themselves.
void LoadRun::Pace() {
  constexpr absl::Duration kPacingTick = absl::Milliseconds(1);
  const absl::Duration interval = absl::Seconds(1.0 / options_.rate);
  absl::Time now = absl::Now();
  for (int64_t n = 0; options_.requests == 0 || n < options_.requests; ++n) {
    const absl::Time due = start_ + interval * static_cast<double>(n);
    if (due >= deadline_) break;
    if (due > now && due > (now = absl::Now())) {
      absl::SleepFor(std::max(due - now, kPacingTick));
    }
    while (in_flight_.load() >= options_.concurrency) absl::SleepFor(absl::Microseconds(50));
    now = absl::Now();
    issue_lag_.Record(std::max<int64_t>(0, absl::ToInt64Microseconds(now - due)));
    if (throttle_ != nullptr &&
        !throttle_->Admit(now, std::uniform_real_distribution<double>()(throttle_random_))) {
      absl::MutexLock lock(&mu_);
      ++results_[options_.mix.For(n)].throttled;
      continue;
    }
    issued_.fetch_add(1);
    in_flight_.fetch_add(1);  // before the call exists, so nobody sees the run as drained
    Issue(n, due);
  }
  pacing_done_.store(true);
  if (in_flight_.load() == 0) MaybeFinish();
}

// Closed loop: the next call as soon as one is answered.
// Counted in flight before deciding, so that the run is seen as drained (in flight 0) only
// when no call is left and no other callback is about to start one.
void LoadRun::StartNext() {
  in_flight_.fetch_add(1);
  const int64_t n = issued_.fetch_add(1);
  if ((options_.requests > 0 && n >= options_.requests) || absl::Now() >= deadline_) {
    if (in_flight_.fetch_sub(1) == 1) MaybeFinish();
    return;
  }
  Issue(n, absl::Now());
}

template <typename C>
C* LoadRun::NewCall(Method method, absl::Time due) {
  auto* call = new C;  // counted in flight by the caller of Issue
  call->method = method;
  call->due = due;
  call->context.set_deadline(absl::ToChronoTime(due + options_.call_timeout));
  const std::string& bearer = bearers_.For(method);
  if (!bearer.empty() && method != Method::kHealth) {
    call->context.AddMetadata("authorization", bearer);
  }
  return call;
}

void LoadRun::Issue(int64_t n, absl::Time due) {
  const Method method = options_.mix.For(n);
  Stubs& stubs = stubs_[static_cast<size_t>(n) % stubs_.size()];
  switch (method) {
    case Method::kSubmit: {
      // As prebuilt bytes through the generic stub, as the no-op goes (ReportPool::SubmitBytes).
      static const std::string kSubmitMethod =
          absl::StrCat("/", v1::ReportIntake::service_full_name(), "/SubmitReport");
      auto* call = NewCall<UnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>>(method, due);
      call->request = pool_->SubmitBytes(options_.run_id, n);
      const bool parse = n % kParseOneSubmitReplyIn == 0;
      stubs.generic->UnaryCall(&call->context, kSubmitMethod, grpc::StubOptions(), &call->request,
                               &call->response, [this, call, parse](grpc::Status s) {
                                 Done(call, CheckSubmitReply(std::move(s), call->response, parse));
                               });
      return;
    }
    case Method::kImport: {
      auto* call =
          NewCall<UnaryCall<v1::ImportReportsRequest, v1::ImportReportsResponse>>(method, due);
      pool_->FillImport(options_.run_id, n, options_.import_batch, call->request);
      stubs.admin->async()->ImportReports(
          &call->context, &call->request, &call->response, [this, call](grpc::Status s) {
            for (const v1::ImportResult& r : call->response.results()) {
              if (s.ok() && r.status() != v1::IMPORT_STATUS_IMPORTED) {
                s = grpc::Status(grpc::StatusCode::ABORTED, "a report was not imported");
              }
            }
            Done(call, s);
          });
      return;
    }
    case Method::kVolumes:
    case Method::kCompare:
    case Method::kShifts:
      return IssueStatistics(method, due, stubs);
    case Method::kHealth:
    case Method::kMix:
      return IssueHealth(due, stubs);
    default:
      return IssueDesk(method, due, stubs);
  }
}

void LoadRun::IssueDesk(Method method, absl::Time due, Stubs& stubs) {
  if (method == Method::kCycle) return IssueCycle(due, stubs);
  if (method == Method::kGet) {
    auto* call = NewCall<UnaryCall<v1::GetReportRequest, v1::Report>>(method, due);
    call->request.set_report_id(options_.report_id);
    stubs.desk->async()->GetReport(&call->context, &call->request, &call->response,
                                   [this, call](grpc::Status s) { Done(call, s); });
    return;
  }
  auto* call = NewCall<UnaryCall<v1::ClaimNextReportRequest, v1::ClaimNextReportResponse>>(
      Method::kClaim, due);
  stubs.desk->async()->ClaimNextReport(
      &call->context, &call->request, &call->response,
      [this, call](grpc::Status s) { Done(call, NotFoundUnlessClaimed(s, call->response)); });
}

void LoadRun::IssueCycle(absl::Time due, Stubs& stubs) {
  auto* call = NewCall<CycleCall>(Method::kCycle, due);
  v1::TriageDesk::Stub* desk = stubs.desk.get();
  desk->async()->ClaimNextReport(
      &call->context, &call->claim_request, &call->claim_response,
      [this, call, desk](grpc::Status status) {
        status = NotFoundUnlessClaimed(status, call->claim_response);
        if (!status.ok()) return Done(call, status);
        call->decide_context.set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
        if (!bearers_.triager.empty()) {
          call->decide_context.AddMetadata("authorization", bearers_.triager);
        }
        call->decide_request.set_report_id(call->claim_response.report().id());
        call->decide_request.set_claim_id(call->claim_response.claim().claim_id());
        call->decide_request.set_outcome(v1::OUTCOME_NO_FURTHER_ACTION);
        desk->async()->RecordDecision(&call->decide_context, &call->decide_request, &call->report,
                                      [this, call](grpc::Status s) { Done(call, s); });
      });
}

namespace {

template <typename Request>
void SetGroups(const StatsGroups& groups, Request& r) {
  for (v1::Dimension d : groups.by) r.add_group_by(d);
  for (const v1::DimensionFilter& f : groups.filters) *r.add_filters() = f;
  r.set_time_zone("Europe/London");
}

}  // namespace

void LoadRun::IssueStatistics(Method method, absl::Time due, Stubs& stubs) {
  const StatsRange& range = options_.range;
  const auto done = [this](Call* call) { return [this, call](grpc::Status s) { Done(call, s); }; };
  if (method == Method::kVolumes) {
    auto* call = NewCall<UnaryCall<v1::GetVolumesRequest, v1::GetVolumesResponse>>(method, due);
    v1::GetVolumesRequest& r = call->request;
    *r.mutable_start_time() = Stamp(range.from);
    *r.mutable_end_time() = Stamp(range.to);
    r.set_granularity(v1::GRANULARITY_DAY);
    SetGroups(options_.groups, r);
    stubs.statistics->async()->GetVolumes(&call->context, &r, &call->response, done(call));
  } else if (method == Method::kCompare) {
    auto* call =
        NewCall<UnaryCall<v1::CompareVolumesRequest, v1::CompareVolumesResponse>>(method, due);
    v1::CompareVolumesRequest& r = call->request;
    *r.mutable_baseline_start() = Stamp(range.from);
    *r.mutable_baseline_end() = Stamp(range.middle);
    *r.mutable_comparison_start() = Stamp(range.middle);
    *r.mutable_comparison_end() = Stamp(range.to);
    SetGroups(options_.groups, r);
    stubs.statistics->async()->CompareVolumes(&call->context, &r, &call->response, done(call));
  } else {
    auto* call = NewCall<UnaryCall<v1::DetectShiftsRequest, v1::DetectShiftsResponse>>(method, due);
    v1::DetectShiftsRequest& r = call->request;
    *r.mutable_start_time() = Stamp(range.from);
    *r.mutable_end_time() = Stamp(range.to);
    SetGroups(options_.groups, r);
    stubs.statistics->async()->DetectShifts(&call->context, &r, &call->response, done(call));
  }
}

void LoadRun::IssueHealth(absl::Time due, Stubs& stubs) {
  auto* call = NewCall<UnaryCall<grpc::ByteBuffer, grpc::ByteBuffer>>(Method::kHealth, due);
  grpc::Slice empty("");  // an empty HealthCheckRequest: one empty slice, not no slices
  call->request = grpc::ByteBuffer(&empty, 1);
  stubs.generic->UnaryCall(&call->context, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                           &call->request, &call->response,
                           [this, call](grpc::Status s) { Done(call, s); });
}

void LoadRun::Done(Call* call, const grpc::Status& status) {
  callbacks_running_.fetch_add(1, std::memory_order_acq_rel);
  const absl::Time now = absl::Now();
  if (throttle_ != nullptr) throttle_->Answered(now, status.error_code());
  const int64_t latency_us = absl::ToInt64Microseconds(now - call->due);
  {
    absl::MutexLock lock(&mu_);
    MethodResult& r = results_[call->method];
    r.latency.Record(latency_us);
    if (status.ok()) {
      ++r.ok;
      r.ok_latency.Record(latency_us);
    } else {
      ++r.errors[status.error_code()];
    }
  }
  delete call;
  const int64_t left = in_flight_.fetch_sub(1) - 1;
  if (!Open()) {
    StartNext();
  } else if (left == 0 && pacing_done_.load()) {
    MaybeFinish();
  }
  callbacks_running_.fetch_sub(1, std::memory_order_acq_rel);  // nothing of this after
}

void LoadRun::MaybeFinish() {
  absl::MutexLock lock(&mu_);
  if (!done_.HasBeenNotified()) done_.Notify();
}

}  // namespace safeguarding::loadgen
