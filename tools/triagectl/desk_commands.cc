#include "tools/triagectl/desk_commands.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "tools/triagectl/enum_names.h"
#include "tools/triagectl/render.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;

// "15m", "1h30m" -> a Duration.
void SetLease(const std::string& text, google::protobuf::Duration* lease) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d <= absl::ZeroDuration()) {
    throw UsageError(absl::StrCat("--lease: '", text, "' is not a duration like 15m or 1h"));
  }
  lease->set_seconds(absl::ToInt64Seconds(d));
}

int ParseEnumOrUsage(const google::protobuf::EnumDescriptor* type, const std::string& text,
                     const char* flag) {
  std::optional<int> value = ParseEnumFlag(type, text);
  if (!value) {
    throw UsageError(
        absl::StrCat("--", flag, ": one of ", absl::StrJoin(EnumFlagNames(type), ", ")));
  }
  return *value;
}

// Prints `response` as JSON or as `text`, and returns 0; a failed call prints its error.
template <typename Response, typename Render>
int Print(const grpc::Status& status, const Response& response, bool json, Render render) {
  if (!status.ok()) return ReportCallError(status);
  std::cout << (json ? RenderJson(response) : render(response));
  return 0;
}

std::unique_ptr<v1::TriageDesk::Stub> Desk(const ConnectionOptions& connection) {
  return v1::TriageDesk::NewStub(OpenChannel(connection));
}

// What `watch` draws: each queue's latest summary, in the policy's order as `queues` shows
// them. It starts from the ListQueues answer (asked once), so the first frame has every
// queue watched, not only the first the stream sent; a queue that answer did not name goes
// at the end.
class WatchTable {
 public:
  explicit WatchTable(const std::vector<std::string>& watched) : watched_(watched) {}

  void Start(const v1::ListQueuesResponse& known) {
    for (const v1::QueueSummary& q : known.queues()) {
      order_.push_back(q.queue());
      if (watched_.empty() || absl::c_linear_search(watched_, q.queue())) latest_[q.queue()] = q;
    }
    if (!latest_.empty()) Draw();
  }
  void Update(const v1::QueueSummary& summary) {
    if (!absl::c_linear_search(order_, summary.queue())) order_.push_back(summary.queue());
    latest_[summary.queue()] = summary;
    Draw();
  }

 private:
  void Draw() const {
    v1::ListQueuesResponse table;
    for (const std::string& name : order_) {
      if (auto it = latest_.find(name); it != latest_.end()) *table.add_queues() = it->second;
    }
    std::cout << "\x1b[H\x1b[2J" << RenderQueues(table) << "\n(watching; Ctrl-C to stop)\n"
              << std::flush;
  }

  const std::vector<std::string>& watched_;  // empty: all
  std::vector<std::string> order_;
  std::map<std::string, v1::QueueSummary> latest_;
};

}  // namespace

DeskCommands::DeskCommands(CLI::App& app) {
  queues_ = app.add_subcommand("queues", "list the queues: waiting, claimed, past due, oldest");
  claim_ = app.add_subcommand("claim", "claim the most urgent waiting report");
  claim_->add_option("--queue", queue_, "only from this queue (default: any)");
  claim_->add_option("--lease", lease_, "how long to hold it, e.g. 15m (default: the server's)");
  renew_ = app.add_subcommand("renew", "extend the lease of a claim you hold");
  release_ = app.add_subcommand("release", "give a claimed report back to its queue");
  release_->add_option("--reason", reason_, "why (shown in its history)")->required();
  decide_ = app.add_subcommand("decide", "record the outcome of a claimed report and close it");
  decide_
      ->add_option("--outcome", outcome_,
                   absl::StrJoin(EnumFlagNames(v1::Outcome_descriptor()), " | "))
      ->required();
  decide_->add_option("--note", note_text_, "why (encrypted at rest)");
  decide_->add_option("--duplicate-of", duplicate_of_, "for --outcome duplicate: the original");
  reprioritise_ = app.add_subcommand("reprioritise", "change a report's priority, with a reason");
  reprioritise_
      ->add_option("--priority", priority_,
                   absl::StrJoin(EnumFlagNames(v1::Priority_descriptor()), " | "))
      ->required();
  reprioritise_->add_option("--reason", reason_, "why (shown in its history)")->required();
  note_ = app.add_subcommand("note", "add a note to a report's history (encrypted at rest)");
  auto* text = note_->add_option("--text", text_, "the note");
  note_->add_option("--text-file", text_file_, "read the note from a file ('-' = stdin)")
      ->excludes(text);
  history_ = app.add_subcommand("history", "every event of a report, oldest first");
  watch_ = app.add_subcommand("watch", "a live queue table, redrawn as queues change (Ctrl-C)");
  watch_->add_option("--queue", watch_queues_, "only this queue (repeatable; default: all)");
  list_ = app.add_subcommand("list", "list reports, newest first (no contents: use show)");
  list_->add_option("--queue", queue_, "only this queue");
  list_->add_option("--state", state_, "queued | claimed | closed");
  list_->add_option("--priority", priority_, "immediate | urgent | standard | routine");
  list_->add_option("--reporter", reporter_, "child | parent-carer | professional | other-adult");
  list_->add_option("--since", since_, "received after (RFC 3339)");
  list_->add_option("--until", until_, "received before (RFC 3339)");
  list_->add_option("--limit", limit_, "most reports to print")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  for (CLI::App* command : {renew_, release_, decide_, reprioritise_, note_, history_}) {
    command->add_option("report_id", report_id_, "report reference")->required();
  }
  for (CLI::App* command : {renew_, release_, decide_}) {
    command->add_option("--claim", claim_id_,
                        "the claim id printed by `claim` (supervisors may leave it out to act "
                        "on someone else's claim)");
  }
  renew_->add_option("--lease", lease_, "how long from now, e.g. 15m (default: the server's)");
}

bool DeskCommands::parsed() const {
  for (CLI::App* c : {queues_, claim_, renew_, release_, decide_, reprioritise_, note_, history_,
                      list_, watch_}) {
    if (c->parsed()) return true;
  }
  return false;
}

int DeskCommands::Run(const ConnectionOptions& connection, bool json) {
  if (queues_->parsed()) return RunQueues(connection, json);
  if (claim_->parsed()) return RunClaim(connection, json);
  if (renew_->parsed()) return RunRenew(connection, json);
  if (release_->parsed()) return RunRelease(connection, json);
  if (decide_->parsed()) return RunDecide(connection, json);
  if (reprioritise_->parsed()) return RunReprioritise(connection, json);
  if (note_->parsed()) return RunNote(connection, json);
  if (history_->parsed()) return RunHistory(connection, json);
  if (list_->parsed()) return RunList(connection, json);
  if (watch_->parsed()) return RunWatch(connection, json);
  return 2;
}

int DeskCommands::RunQueues(const ConnectionOptions& connection, bool json) {
  v1::ListQueuesResponse response;
  grpc::Status status =
      Desk(connection)
          ->ListQueues(NewCallContext(connection).get(), v1::ListQueuesRequest(), &response);
  return Print(status, response, json, RenderQueues);
}

int DeskCommands::RunClaim(const ConnectionOptions& connection, bool json) {
  v1::ClaimNextReportRequest request;
  request.set_queue(queue_);
  if (!lease_.empty()) SetLease(lease_, request.mutable_lease());  // else the server's
  v1::ClaimNextReportResponse response;
  grpc::Status status =
      Desk(connection)->ClaimNextReport(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, [](const v1::ClaimNextReportResponse& r) -> std::string {
    if (!r.has_report()) return "No report is waiting.\n";
    return absl::StrCat(RenderClaim(r.claim()), "\n", RenderReport(r.report()));
  });
}

int DeskCommands::RunRenew(const ConnectionOptions& connection, bool json) {
  v1::RenewClaimRequest request;
  request.set_report_id(report_id_);
  request.set_claim_id(claim_id_);
  if (!lease_.empty()) SetLease(lease_, request.mutable_lease());  // else the server's
  v1::Claim response;
  grpc::Status status =
      Desk(connection)->RenewClaim(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, RenderClaim);
}

int DeskCommands::RunRelease(const ConnectionOptions& connection, bool json) {
  v1::ReleaseReportRequest request;
  request.set_report_id(report_id_);
  request.set_claim_id(claim_id_);
  request.set_reason(reason_);
  v1::Report response;
  grpc::Status status =
      Desk(connection)->ReleaseReport(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, RenderReport);
}

int DeskCommands::RunDecide(const ConnectionOptions& connection, bool json) {
  v1::RecordDecisionRequest request;
  request.set_report_id(report_id_);
  request.set_claim_id(claim_id_);
  request.set_outcome(
      static_cast<v1::Outcome>(ParseEnumOrUsage(v1::Outcome_descriptor(), outcome_, "outcome")));
  request.set_note(note_text_);
  request.set_duplicate_of(duplicate_of_);
  v1::Report response;
  grpc::Status status =
      Desk(connection)->RecordDecision(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, RenderReport);
}

int DeskCommands::RunReprioritise(const ConnectionOptions& connection, bool json) {
  v1::ReprioritiseRequest request;
  request.set_report_id(report_id_);
  request.set_priority(static_cast<v1::Priority>(
      ParseEnumOrUsage(v1::Priority_descriptor(), priority_, "priority")));
  request.set_reason(reason_);
  v1::Report response;
  grpc::Status status =
      Desk(connection)->Reprioritise(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, RenderReport);
}

int DeskCommands::RunNote(const ConnectionOptions& connection, bool json) {
  v1::AddNoteRequest request;
  request.set_report_id(report_id_);
  if (!text_file_.empty()) {
    request.set_text(ReadFileOrStdin(text_file_));
  } else if (!text_.empty()) {
    request.set_text(text_);
  } else {
    throw UsageError("note: give --text or --text-file");
  }
  v1::ReportEvent response;
  grpc::Status status =
      Desk(connection)->AddNote(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, RenderEvent);
}

int DeskCommands::RunHistory(const ConnectionOptions& connection, bool json) {
  v1::GetReportHistoryRequest request;
  request.set_report_id(report_id_);
  v1::GetReportHistoryResponse response;
  grpc::Status status =
      Desk(connection)->GetReportHistory(NewCallContext(connection).get(), request, &response);
  return Print(status, response, json, [](const v1::GetReportHistoryResponse& r) {
    std::string out;
    for (const v1::ReportEvent& e : r.events()) out += RenderEvent(e);
    return out;
  });
}

int DeskCommands::RunList(const ConnectionOptions& connection, bool json) {
  v1::ListReportsRequest request;
  request.set_queue(queue_);
  if (!state_.empty()) {
    request.set_state(static_cast<v1::ReportState>(
        ParseEnumOrUsage(v1::ReportState_descriptor(), state_, "state")));
  }
  if (!priority_.empty()) {
    request.set_priority(static_cast<v1::Priority>(
        ParseEnumOrUsage(v1::Priority_descriptor(), priority_, "priority")));
  }
  if (!reporter_.empty()) {
    request.set_reporter_type(static_cast<v1::ReporterType>(
        ParseEnumOrUsage(v1::ReporterType_descriptor(), reporter_, "reporter")));
  }
  auto time = [](const std::string& text, const char* flag, google::protobuf::Timestamp* out) {
    absl::Time t;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
      throw UsageError(absl::StrCat("--", flag, ": '", text, "' is not an RFC 3339 time"));
    }
    out->set_seconds(absl::ToUnixSeconds(t));
  };
  if (!since_.empty()) time(since_, "since", request.mutable_received_after());
  if (!until_.empty()) time(until_, "until", request.mutable_received_before());
  auto desk = Desk(connection);
  v1::ListReportsResponse all;
  while (all.reports_size() < limit_) {
    request.set_page_size(std::min(500, limit_ - all.reports_size()));
    v1::ListReportsResponse page;
    grpc::Status status = desk->ListReports(NewCallContext(connection).get(), request, &page);
    if (!status.ok()) return ReportCallError(status);
    for (v1::Report& r : *page.mutable_reports()) *all.add_reports() = std::move(r);
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  std::cout << (json ? RenderJson(all) : RenderReportList(all));
  return 0;
}

int DeskCommands::RunWatch(const ConnectionOptions& connection, bool json) {
  // Ctrl-C cancels the stream from a thread of its own (gRPC calls are not signal-safe).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::unique_ptr<grpc::ClientContext> context = NewStreamContext(connection);
  auto desk = Desk(connection);  // a usage error throws here, before any thread exists
  std::atomic<bool> interrupted{false};
  std::thread canceller([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    interrupted = true;
    context->TryCancel();
  });
  v1::WatchQueuesRequest request;
  for (const std::string& q : watch_queues_) request.add_queues(q);
  auto stream = desk->WatchQueues(context.get(), request);
  WatchTable table(watch_queues_);
  if (!json) {
    v1::ListQueuesResponse known;
    if (desk->ListQueues(NewCallContext(connection).get(), v1::ListQueuesRequest(), &known).ok()) {
      table.Start(known);
    }
  }
  v1::QueueSummary summary;
  while (stream->Read(&summary)) {
    if (json) {
      std::cout << RenderJsonLine(summary) << std::flush;
    } else {
      table.Update(summary);
    }
  }
  grpc::Status status = stream->Finish();
  if (!interrupted) kill(getpid(), SIGINT);  // wake the canceller
  canceller.join();
  if (interrupted || status.ok()) return 0;  // ended by the user, or by the server stopping
  return ReportCallError(status);
}

}  // namespace safeguarding::tools
