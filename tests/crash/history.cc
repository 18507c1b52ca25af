#include "tests/crash/history.h"

#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "tests/support/sample_reports.h"

namespace safeguarding::crash {

using google::protobuf::util::TimeUtil;

namespace {

// Runs `check` on each item from 8 threads: each check is a call or two, most of them
// audited, so they wait for a synced write; in parallel they share them.
template <typename Item>
void ForEachParallel(std::vector<Item*>& items, const std::function<void(Item&)>& check) {
  constexpr size_t kThreads = 8;
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < items.size(); i = next.fetch_add(1)) {
        check(*items[i]);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

}  // namespace

std::string DescriptionFor(const std::string& request_id) {
  return absl::StrCat("crash campaign report ", request_id);
}

void History::Submitted(const std::string& request_id, const grpc::Status& status,
                        const std::string& report_id) {
  absl::MutexLock lock(&mu_);
  Submit& submit = submits_[request_id];
  if (status.ok()) {
    submit.report_id = report_id;
    submit.acknowledged = true;
    ++acknowledged_;
  } else {
    ++unknown_;  // failed or cut off: it may or may not have been committed
  }
}

void History::Decided(const std::string& report_id, v1::Outcome outcome,
                      const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  if (!status.ok()) return;  // unknown: the report may be closed or not
  decisions_[report_id] = Decision{outcome, true, false};
  ++decided_;
}

void History::Problem(std::string what) {
  absl::MutexLock lock(&problems_mu_);
  if (problems_.size() < 50) problems_.push_back(std::move(what));
}

std::vector<std::string> History::problems() const {
  absl::MutexLock lock(&problems_mu_);
  return problems_;
}

void History::Lost(std::string what) {
  lost_.fetch_add(1);
  Problem("LOST: " + what);
}

bool History::Present(Server& server, const std::string& report_id, v1::Report* report) {
  v1::GetReportRequest request;
  request.set_report_id(report_id);
  grpc::Status status =
      server.desk().GetReport(server.As(v1::ROLE_SUPERVISOR).get(), request, report);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return false;
  if (!status.ok()) {
    Problem(absl::StrCat("GetReport ", report_id, ": ", status.error_message()));
    return false;
  }
  return true;
}

void History::CheckSubmit(Server& server, const std::string& request_id, Submit& submit) {
  v1::Report report;
  if (!Present(server, submit.report_id, &report)) {
    Lost(absl::StrCat("acknowledged report ", submit.report_id, " (request ", request_id,
                      ") is not in the store"));
    return;
  }
  if (report.submission().description() != DescriptionFor(request_id)) {
    Problem(absl::StrCat("report ", submit.report_id, " has another description"));
  }
}

void History::ResolveUnknown(Server& server, const std::string& request_id, Submit& submit) {
  v1::SubmitReportRequest request = testing::ValidRequest(request_id);
  request.mutable_report()->set_description(DescriptionFor(request_id));
  v1::SubmitReportResponse response;
  const absl::Time sent = absl::Now();
  grpc::Status status =
      server.intake().SubmitReport(server.As(v1::ROLE_INTAKE).get(), request, &response);
  if (!status.ok()) {
    Problem(absl::StrCat("retry of ", request_id, ": ", status.error_message()));
    return;
  }
  submit.report_id = response.report_id();
  submit.acknowledged = true;
  // Received before the retry was sent: the lost answer's submit had been committed.
  if (absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(response.received_time())) < sent) {
    ++resolved_present_;
  }
}

void History::CheckDecision(Server& server, const std::string& report_id, Decision& decision) {
  v1::Report report;
  if (!Present(server, report_id, &report)) {
    Lost(absl::StrCat("decided report ", report_id, " is not in the store"));
    return;
  }
  if (report.state() != v1::REPORT_STATE_CLOSED || report.outcome() != decision.outcome) {
    Lost(absl::StrCat("acknowledged decision on ", report_id, " is not recorded (state ",
                      v1::ReportState_Name(report.state()), ")"));
  }
}

void History::CheckCycle(int cycle, Server& server) {
  absl::MutexLock lock(&mu_);
  using SubmitEntry = std::pair<const std::string, Submit>;
  using DecisionEntry = std::pair<const std::string, Decision>;
  std::vector<SubmitEntry*> submits;
  for (auto& entry : submits_) {
    if (!entry.second.checked) submits.push_back(&entry);
  }
  ForEachParallel<SubmitEntry>(submits, [&](SubmitEntry& entry) {
    entry.second.checked = true;
    if (entry.second.acknowledged) {
      CheckSubmit(server, entry.first, entry.second);
    } else {
      ResolveUnknown(server, entry.first, entry.second);
    }
  });
  std::vector<DecisionEntry*> decisions;
  for (auto& entry : decisions_) {
    if (!entry.second.checked) decisions.push_back(&entry);
  }
  ForEachParallel<DecisionEntry>(decisions, [&](DecisionEntry& entry) {
    entry.second.checked = true;
    CheckDecision(server, entry.first, entry.second);
  });
  (void)cycle;
}

void History::CheckWhole(Server& server) {
  ++whole_checks_;
  CheckEveryReport(server);
  CheckRecount(server);
  CheckAudit(server);
}

void History::CheckEveryReport(Server& server) {
  absl::MutexLock lock(&mu_);
  std::set<std::string> report_ids;
  using SubmitEntry = std::pair<const std::string, Submit>;
  std::vector<SubmitEntry*> submits;
  for (auto& entry : submits_) {
    if (!entry.second.acknowledged) continue;  // a retry that failed: already a problem
    if (!report_ids.insert(entry.second.report_id).second) {
      Problem(absl::StrCat("two request ids share report ", entry.second.report_id));
    }
    submits.push_back(&entry);
  }
  // Every report with its content and state, between two listings of the queues; again if
  // a lease expired in between (the states then moved).
  for (int attempt = 1; attempt <= 3; ++attempt) {
    v1::ListQueuesResponse before, after;
    (void)server.desk().ListQueues(server.As(v1::ROLE_SUPERVISOR).get(), {}, &before);
    absl::Mutex states_mu;
    std::map<v1::ReportState, uint64_t> states;
    ForEachParallel<SubmitEntry>(submits, [&](SubmitEntry& entry) {
      v1::Report report;
      if (!Present(server, entry.second.report_id, &report)) {
        if (attempt == 1)
          Lost(
              absl::StrCat("acknowledged report ", entry.second.report_id, " is not in the store"));
        return;
      }
      if (attempt == 1 && report.submission().description() != DescriptionFor(entry.first)) {
        Problem(absl::StrCat("report ", entry.second.report_id, " has another description"));
      }
      absl::MutexLock states_lock(&states_mu);
      ++states[report.state()];
    });
    (void)server.desk().ListQueues(server.As(v1::ROLE_SUPERVISOR).get(), {}, &after);
    if (CheckQueues(before, after, std::move(states), attempt == 3)) break;
  }
  for (auto& [report_id, decision] : decisions_) CheckDecision(server, report_id, decision);
}

bool History::CheckQueues(const v1::ListQueuesResponse& before, const v1::ListQueuesResponse& after,
                          std::map<v1::ReportState, uint64_t> states, bool last_attempt) {
  auto totals = [](const v1::ListQueuesResponse& queues) {
    std::pair<uint64_t, uint64_t> waiting_claimed{0, 0};
    for (const v1::QueueSummary& q : queues.queues()) {
      waiting_claimed.first += q.depth();
      waiting_claimed.second += q.claimed();
    }
    return waiting_claimed;
  };
  const auto [waiting, claimed] = totals(before);
  if (totals(after) != totals(before) && !last_attempt) return false;  // a lease expired
  if (waiting != states[v1::REPORT_STATE_QUEUED] || claimed != states[v1::REPORT_STATE_CLAIMED]) {
    Problem(absl::StrCat("queues hold ", waiting, " waiting and ", claimed,
                         " claimed; the reports say ", states[v1::REPORT_STATE_QUEUED], " and ",
                         states[v1::REPORT_STATE_CLAIMED]));
  }
  return true;
}

void History::CheckRecount(Server& server) {
  v1::RecountStatisticsResponse recount;
  grpc::Status status = server.admin().RecountStatistics(server.As(v1::ROLE_ADMIN).get(),
                                                         v1::RecountStatisticsRequest(), &recount);
  if (!status.ok()) return Problem("recount: " + status.error_message());
  absl::MutexLock lock(&mu_);
  // Every request id resolved to one report, and nothing else submits.
  if (recount.reports_scanned() != submits_.size()) {
    Problem(absl::StrCat("the store holds ", recount.reports_scanned(), " reports for ",
                         submits_.size(), " request ids"));
  }
  if (recount.differences() != 0) {
    Problem(absl::StrCat(recount.differences(), " counters differ from a recount"));
  }
}

void History::CheckAudit(Server& server) {
  v1::VerifyAuditLogResponse verified;
  grpc::Status status = server.admin().VerifyAuditLog(server.As(v1::ROLE_ADMIN).get(),
                                                      v1::VerifyAuditLogRequest(), &verified);
  if (!status.ok()) return Problem("verify audit: " + status.error_message());
  if (!verified.intact()) {
    Problem(absl::StrCat("audit trail broken at ", verified.first_bad_sequence(), ": ",
                         verified.problem()));
  }
}

std::string History::Summary(int cycle) const {
  absl::MutexLock lock(&mu_);
  return absl::StrCat("cycle ", cycle, ": ", acknowledged_, " submits acknowledged, ", unknown_,
                      " unknown (", resolved_present_.load(), " had been committed), ", decided_,
                      " decisions acknowledged, ", whole_checks_, " whole checks, ", lost_.load(),
                      " lost, ", problems().size(), " problems");
}

}  // namespace safeguarding::crash
