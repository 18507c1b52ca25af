#include "tools/triagectl/render.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "tools/triagectl/enum_names.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

std::string Time(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime(
      "%Y-%m-%d %H:%M:%S UTC",
      absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(ts)),
      absl::UTCTimeZone());
}

template <typename Repeated>
std::string EnumList(const google::protobuf::EnumDescriptor* type, const Repeated& values) {
  std::vector<std::string> names;
  for (int v : values) names.push_back(EnumFlagName(type, v));
  return names.empty() ? "-" : absl::StrJoin(names, ", ");
}

const char* YesNo(bool b) { return b ? "yes" : "no"; }

// A retention period as --retention writes it: whole days as "400d", else like "36h".
std::string PeriodText(const google::protobuf::Duration& d) {
  const absl::Duration period =
      absl::Microseconds(google::protobuf::util::TimeUtil::DurationToMicroseconds(d));
  if (period % absl::Hours(24) == absl::ZeroDuration()) {
    return absl::StrCat(period / absl::Hours(24), "d");
  }
  return absl::FormatDuration(period);
}

const char* BackupCheckText(v1::BackupCheck check) {
  switch (check) {
    case v1::BACKUP_CHECK_NO_BACKUP_DIR:
      return "not compared with a backup: no --backup_dir";
    case v1::BACKUP_CHECK_NOT_IN_BACKUP_DIR:
      return "not compared with a backup: not in --backup_dir";
    case v1::BACKUP_CHECK_MATCHES:
      return "matches the backup in --backup_dir";
    default:
      return "not compared with a backup";
  }
}

// What an audit entry records beyond the access: the terms of a purge ("  (dry run, closed
// before T)"), or a restore as its record claims it and what the server compared it with
// ("  (restore record: backup 3 taken T, audit head #N; restored at T by uid 1000 (alice);
// anchor before S:H; matches the backup in --backup_dir)"); else "".
std::string EntryDetails(const v1::AuditEntry& e) {
  if (e.has_restore()) {
    const v1::BackupRestore& r = e.restore();
    return absl::StrCat("  (restore record: backup ", CleanText(r.backup_id()), " taken ",
                        Time(r.backup_time()), ", audit head #", r.backup_audit_sequence(),
                        "; restored at ", Time(r.restored_at()), " by ", CleanText(r.restored_by()),
                        "; anchor before ", CleanText(r.anchor_before()), "; ",
                        BackupCheckText(r.backup_check()), ")");
  }
  std::vector<std::string> terms;
  if (e.purge().dry_run()) terms.push_back("dry run");
  if (e.purge().has_closed_before()) {
    terms.push_back(absl::StrCat("closed before ", Time(e.purge().closed_before())));
  }
  return terms.empty() ? "" : absl::StrCat("  (", absl::StrJoin(terms, ", "), ")");
}

const char* CodeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  int c = static_cast<int>(code);
  return c >= 0 && c <= 16 ? kNames[c] : "UNKNOWN";
}

}  // namespace

std::string RenderSubmitted(const v1::SubmitReportResponse& r, const std::string& request_id) {
  return absl::StrCat(
      "Report received: ", r.report_id(), "\n", "Received at:     ", Time(r.received_time()), "\n",
      "Request id:      ", request_id, "\n", "Advice:          ", CleanText(r.advice()), "\n");
}

std::string RenderReport(const v1::Report& r) {
  const v1::ReportSubmission& s = r.submission();
  const v1::TriageAssessment& t = r.triage();
  std::string out = absl::StrCat("Report ", r.id(), "\n");
  absl::StrAppend(&out, "  Received:        ", Time(r.received_time()), " (",
                  EnumFlagName(v1::ReportSource_descriptor(), r.source()), ")\n");
  absl::StrAppend(
      &out, "  State:           ", EnumFlagName(v1::ReportState_descriptor(), r.state()), "\n");
  absl::StrAppend(&out,
                  "  Priority:        ", EnumFlagName(v1::Priority_descriptor(), t.priority()),
                  ", queue ", CleanText(t.queue()), ", due ", Time(t.due_time()), "\n");
  absl::StrAppend(&out, "  Why:             ", CleanText(absl::StrJoin(t.matched_rules(), ", ")),
                  " (policy ", t.policy_version(), ")\n");
  if (r.has_claim()) {
    absl::StrAppend(&out, "  Claimed by:      ", CleanText(r.claim().holder()), " until ",
                    Time(r.claim().expire_time()), "\n");
  }
  if (r.state() == v1::REPORT_STATE_CLOSED) {
    absl::StrAppend(&out,
                    "  Decided:         ", EnumFlagName(v1::Outcome_descriptor(), r.outcome()),
                    r.duplicate_of().empty() ? "" : absl::StrCat(" of ", r.duplicate_of()), ", ",
                    Time(r.closed_time()), "\n");
  }
  if (r.has_purge_time()) {
    absl::StrAppend(&out, "  Purged:          ", Time(r.purge_time()),
                    " (retention: description, contact details and notes deleted)\n");
  }
  std::string reporter = EnumFlagName(v1::ReporterType_descriptor(), s.reporter().type());
  if (s.reporter().professional_role() != v1::PROFESSIONAL_ROLE_UNSPECIFIED) {
    absl::StrAppend(
        &reporter, " (",
        EnumFlagName(v1::ProfessionalRole_descriptor(), s.reporter().professional_role()), ")");
  }
  absl::StrAppend(&out, "  Reporter:        ", reporter, "\n");
  if (s.reporter().has_contact()) {
    const v1::ContactDetails& c = s.reporter().contact();
    std::vector<std::string> parts;
    for (const std::string* p : {&c.name(), &c.email(), &c.phone()}) {
      if (!p->empty()) parts.push_back(CleanText(*p));
    }
    absl::StrAppend(&out, "  Contact:         ", absl::StrJoin(parts, " / "), "\n");
  }
  absl::StrAppend(&out, "  Child age:       ",
                  s.has_child_age() ? absl::StrCat(s.child_age()) : "not given", "\n");
  absl::StrAppend(&out,
                  "  Categories:      ", EnumList(v1::ConcernCategory_descriptor(), s.categories()),
                  "\n");
  absl::StrAppend(&out, "  Channels:        ", EnumList(v1::Channel_descriptor(), s.channels()),
                  "\n");
  absl::StrAppend(&out, "  Platform:        ", s.platform().empty() ? "-" : CleanText(s.platform()),
                  "\n");
  absl::StrAppend(&out, "  Region:          ", s.region().empty() ? "-" : CleanText(s.region()),
                  "\n");
  absl::StrAppend(&out, "  Danger now:      ", YesNo(s.immediate_danger()),
                  "; ongoing contact: ", YesNo(s.ongoing_contact()),
                  "; planned meeting: ", YesNo(s.planned_meeting()), "\n");
  absl::StrAppend(&out, "  Description:\n    ",
                  absl::StrReplaceAll(CleanText(s.description(), true, true), {{"\n", "\n    "}}),
                  "\n");
  return out;
}

std::string RenderClaim(const v1::Claim& claim) {
  return absl::StrCat("Claim ", claim.claim_id(), " on ", claim.report_id(), ", held by ",
                      CleanText(claim.holder()), " until ", Time(claim.expire_time()), "\n");
}

std::string RenderQueues(const v1::ListQueuesResponse& queues) {
  std::string out =
      absl::StrFormat("%-16s %7s %9s %7s %8s %8s %8s %9s %10s\n", "QUEUE", "WAITING", "IMMEDIATE",
                      "URGENT", "STANDARD", "ROUTINE", "CLAIMED", "PAST DUE", "OLDEST");
  for (const v1::QueueSummary& q : queues.queues()) {
    uint64_t by[5] = {};
    for (const v1::PriorityDepth& d : q.by_priority()) {
      if (d.priority() > 0 && d.priority() < 5) by[d.priority()] = d.depth();
    }
    const std::string oldest =
        q.depth() == 0 ? "-" : absl::FormatDuration(absl::Seconds(q.oldest_wait().seconds()));
    absl::StrAppendFormat(&out, "%-16s %7d %9d %7d %8d %8d %8d %9d %10s\n", CleanText(q.queue()),
                          q.depth(), by[1], by[2], by[3], by[4], q.claimed(), q.sla_breaches(),
                          oldest);
  }
  return out;
}

std::string RenderEvent(const v1::ReportEvent& e) {
  std::string out = absl::StrCat("#", e.sequence(), "  ", Time(e.time()), "  ",
                                 EnumFlagName(v1::ReportEventType_descriptor(), e.type()), "  by ",
                                 CleanText(e.actor()), "  -> ",
                                 EnumFlagName(v1::ReportState_descriptor(), e.state()), ", ",
                                 EnumFlagName(v1::Priority_descriptor(), e.priority()));
  if (e.previous_priority() != v1::PRIORITY_UNSPECIFIED) {
    absl::StrAppend(&out, " (was ", EnumFlagName(v1::Priority_descriptor(), e.previous_priority()),
                    ")");
  }
  if (e.outcome() != v1::OUTCOME_UNSPECIFIED) {
    absl::StrAppend(&out, "  outcome ", EnumFlagName(v1::Outcome_descriptor(), e.outcome()));
  }
  if (!e.duplicate_of().empty()) absl::StrAppend(&out, " of ", e.duplicate_of());
  if (e.has_claim_expire_time()) absl::StrAppend(&out, "  until ", Time(e.claim_expire_time()));
  absl::StrAppend(&out, "\n");
  if (!e.text().empty()) {
    absl::StrAppend(&out, "    ",
                    absl::StrReplaceAll(CleanText(e.text(), true, true), {{"\n", "\n    "}}), "\n");
  }
  return out;
}

std::string RenderReportList(const v1::ListReportsResponse& list) {
  if (list.reports().empty()) return "No reports match.\n";
  std::string out = absl::StrFormat("%-26s  %-23s  %-7s  %-9s  %-13s  %-13s  %s\n", "REPORT",
                                    "RECEIVED", "STATE", "PRIORITY", "QUEUE", "REPORTER", "DUE");
  for (const v1::Report& r : list.reports()) {
    absl::StrAppendFormat(
        &out, "%-26s  %-23s  %-7s  %-9s  %-13s  %-13s  %s\n", r.id(), Time(r.received_time()),
        EnumFlagName(v1::ReportState_descriptor(), r.state()),
        EnumFlagName(v1::Priority_descriptor(), r.triage().priority()),
        CleanText(r.triage().queue()),
        EnumFlagName(v1::ReporterType_descriptor(), r.submission().reporter().type()),
        Time(r.triage().due_time()));
  }
  return out;
}

std::string RenderAuditEntry(const v1::AuditEntry& e) {
  // Entries without a role: the server's own (its reserved principal), or a caller refused
  // before any role was known.
  const std::string role = e.role() != v1::ROLE_UNSPECIFIED
                               ? EnumFlagName(v1::Role_descriptor(), e.role())
                               : (e.principal() == "triage-server" ? "the server" : "no role");
  return absl::StrCat(Time(e.time()), "  #", e.sequence(), "  ",
                      e.principal().empty() ? "(unauthenticated)" : CleanText(e.principal()), " (",
                      role, ")  ", e.method(), "  ", e.report_id().empty() ? "-" : e.report_id(),
                      "  ", CodeName(static_cast<grpc::StatusCode>(e.result_code())), "  ",
                      CleanText(e.peer()), EntryDetails(e), "\n");
}

std::string RenderPurge(const v1::PurgeExpiredReportsResponse& purge) {
  std::string out = absl::StrCat(purge.dry_run() ? "Dry run: " : "Purged ", purge.purged(),
                                 " reports", purge.dry_run() ? " would be purged" : "", " (of ",
                                 purge.examined(), " closed, not yet purged) as of ",
                                 Time(purge.as_of()), purge.by_outcome_size() == 0 ? ".\n" : ":\n");
  for (const v1::PurgedCount& c : purge.by_outcome()) {
    absl::StrAppend(
        &out, "  ",
        absl::StrFormat("%-36s %10lld", EnumFlagName(v1::Outcome_descriptor(), c.outcome()),
                        static_cast<long long>(c.count())),
        "\n");
  }
  // A server from before the periods were in the answer sends none.
  if (purge.periods_size() > 0) {
    std::vector<std::string> periods;
    for (const v1::RetentionPeriod& p : purge.periods()) {
      periods.push_back(absl::StrCat(EnumFlagName(v1::Outcome_descriptor(), p.outcome()), " ",
                                     PeriodText(p.period())));
    }
    absl::StrAppend(&out, "Retention periods in force (after the decision): ",
                    absl::StrJoin(periods, ", "), "; other outcomes are kept for ever.\n");
  }
  if (purge.dry_run()) out += "Nothing was changed (dry run).\n";
  return out;
}

std::string RenderError(const grpc::Status& status) {
  std::string out =
      absl::StrCat(CodeName(status.error_code()), ": ", CleanText(status.error_message()), "\n");
  google::rpc::Status details;
  if (!status.error_details().empty() && details.ParseFromString(status.error_details())) {
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad_request;
      if (any.UnpackTo(&bad_request)) {
        for (const auto& v : bad_request.field_violations()) {
          absl::StrAppend(&out, "  ", CleanText(v.field()), ": ", CleanText(v.description()), "\n");
        }
      }
    }
  }
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    absl::StrAppend(&out,
                    "  triagectl sends the token in TRIAGECTL_TOKEN (or --token); make run "
                    "printed one per role at its first start\n");
  }
  return out;
}

namespace {

// Printing fails only on what the mapping cannot show (a string that is not UTF-8, a time
// out of range): it is said on stderr and, in place of the reply, as a JSON object that a
// script reading stdout cannot mistake for one.
std::string JsonFailure(const google::protobuf::util::Status& printed) {
  std::string what;  // printable ASCII only: it may quote the reply's own bytes
  for (char c : absl::StrCat("triagectl cannot print the reply as JSON: ", printed.ToString())) {
    if (static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f) {
      what.push_back(c);
    }
  }
  std::fprintf(stderr, "triagectl: %s\n", what.c_str());
  std::string quoted;
  for (char c : what) {
    if (c == '"' || c == '\\') quoted.push_back('\\');
    quoted.push_back(c);
  }
  return absl::StrCat("{\"triagectlError\": \"", quoted, "\"}");
}

}  // namespace

std::string RenderJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  google::protobuf::util::Status printed =
      google::protobuf::util::MessageToJsonString(message, &json, options);
  return printed.ok() ? json : JsonFailure(printed);
}

std::string RenderJsonLine(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::Status printed =
      google::protobuf::util::MessageToJsonString(message, &json);
  return (printed.ok() ? json : JsonFailure(printed)) + "\n";
}

int ReportCallError(const grpc::Status& status) {
  std::fprintf(stderr, "triagectl: %s", RenderError(status).c_str());
  return ExitCodeFor(status);
}

int ExitCodeFor(const grpc::Status& status) {
  switch (status.error_code()) {
    case grpc::StatusCode::OK:
      return 0;
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 3;
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 4;
    default:
      return 1;
  }
}

}  // namespace safeguarding::tools
