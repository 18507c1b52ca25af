// Human-readable rendering of replies and errors for triagectl.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_RENDER_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_RENDER_H_

#include <grpcpp/support/status.h>

#include <string>

#include "safeguarding/triage/v1/access.pb.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"

namespace safeguarding::tools {

namespace v1 = ::safeguarding::triage::v1;

std::string RenderSubmitted(const v1::SubmitReportResponse& response,
                            const std::string& request_id);
std::string RenderReport(const v1::Report& report);
// One line: time, sequence, principal (role), method, report, result, peer, and a purge's
// terms (dry run, closed before) when the entry records them.
std::string RenderAuditEntry(const v1::AuditEntry& entry);
std::string RenderClaim(const v1::Claim& claim);
// A table: per queue, waiting reports (per priority), claimed, past due, oldest wait.
std::string RenderQueues(const v1::ListQueuesResponse& queues);
// One event of a report's history, with its text (indented) if any.
std::string RenderEvent(const v1::ReportEvent& event);
// One line per report: id, received, state, priority, queue, reporter, due.
std::string RenderReportList(const v1::ListReportsResponse& list);
// "Purged N reports (of M closed, not yet purged) as of T:" (a dry run: "Dry run: N
// reports would be purged ..."), one line per outcome, the retention periods in force (when
// the answer carries them) and, for a dry run, that nothing was changed.
std::string RenderPurge(const v1::PurgeExpiredReportsResponse& purge);
// "INVALID_ARGUMENT: invalid fields: ..." plus one line per google.rpc.BadRequest field
// violation carried in the status details.
std::string RenderError(const grpc::Status& status);

// Protobuf JSON (canonical mapping, indented), for --json. If the message cannot be
// printed, {"triagectlError": "..."} (and the same on stderr).
std::string RenderJson(const google::protobuf::Message& message);
// The same on one line (for streams: one message per line).
std::string RenderJsonLine(const google::protobuf::Message& message);

// Prints RenderError(status) to stderr and returns ExitCodeFor(status).
int ReportCallError(const grpc::Status& status);

// triagectl's exit code for a failed call: 3 rejected / not found, 4 unavailable, 1 other.
int ExitCodeFor(const grpc::Status& status);

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_RENDER_H_
