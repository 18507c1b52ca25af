#include "tools/triagectl/admin_commands.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/audit_anchor.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "services/credentials.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/text.h"
#include "triage/access_policy.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using google::protobuf::util::TimeUtil;

google::protobuf::Timestamp ParseTimeOrUsage(const std::string& text, const char* flag) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err)) {
    throw UsageError(absl::StrCat("--", flag, ": '", text,
                                  "' is not an RFC 3339 time like 2026-11-23T15:00:00Z"));
  }
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

AdminCommands::AdminCommands(CLI::App& app) {
  audit_ = app.add_subcommand("audit", "read the audit trail (supervisor, admin)");
  audit_->add_option("--report", report_id_, "only entries about this report");
  audit_->add_option("--principal", principal_, "only entries by this principal");
  audit_->add_option("--since", since_, "from this time (RFC 3339, inclusive)");
  audit_->add_option("--until", until_, "to this time (RFC 3339, exclusive)");
  audit_->add_option("--limit", limit_, "most entries to print")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  admin_ = app.add_subcommand("admin", "administration");
  admin_->require_subcommand(1);
  add_token_ = admin_->add_subcommand(
      "add-token", "create a bearer token: prints it once, stores only its SHA-256");
  add_token_->add_option("--credentials-file", credentials_file_, "credentials file to append to")
      ->capture_default_str();
  add_token_->add_option("--principal", principal_, "name of the person or app")->required();
  add_token_->add_option("--role", role_, "intake | triager | supervisor | monitor | admin")
      ->required();
  verify_audit_ = admin_->add_subcommand("verify-audit", "check the audit hash chain");
  verify_audit_->add_option(
      "--anchor", anchors_,
      "SEQ:HASH from an 'audit anchor' log line or the anchor file: it must lie on the chain "
      "and the trail must not end before it (repeatable)");
  rotate_key_ =
      admin_->add_subcommand("rotate-key", "make a new encryption key current and re-encrypt");
  keys_ = admin_->add_subcommand(
      "keys", "list the data keys: current, in use, or retired (may be removed from the file)");
  recount_ = admin_->add_subcommand(
      "recount",
      "recount the statistics from the reports (read-only, online) and print every counter "
      "that differs; exit 6 if any does. Waits at least an hour (--timeout if longer)");
  recount_->add_option("--max-differences", max_differences_, "most differences to print")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  purge_ = admin_->add_subcommand(
      "purge",
      "purge the contents of closed reports past their retention period (the server's "
      "--retention); --dry-run only counts and changes nothing. Waits at least an hour "
      "(--timeout if longer)");
  purge_->footer(
      "Purged: closed reports whose outcome has a retention period that has passed since\n"
      "their decision (never open reports, outcomes without a period, or a duplicate whose\n"
      "original is open). Deleted from each: the description, the reporter's contact\n"
      "details, the platform name and the texts of its events (notes, decision notes,\n"
      "reasons).\n"
      "Kept: a tombstone (id, times, reporter type, categories, region, assessment, outcome,\n"
      "purge time and a PURGED event), the statistics counters (a recount still agrees) and\n"
      "the audit trail (it gains one entry per purged report). A purge cannot be undone.\n"
      "--dry-run deletes nothing and changes nothing: it counts what would be purged, per\n"
      "outcome, and shows the retention periods in force.");
  purge_->add_flag("--dry-run", dry_run_,
                   "only count what would be purged and show the periods in force; change "
                   "nothing (the call is audited as a dry run)");
  purge_->add_option("--closed-before", closed_before_,
                     "only reports decided before this time (RFC 3339)");
  backups_ = std::make_unique<BackupCommands>(*admin_);
}

bool AdminCommands::parsed() const { return audit_->parsed() || admin_->parsed(); }

int AdminCommands::Run(const ConnectionOptions& connection, bool json) {
  if (audit_->parsed()) return RunAudit(connection, json);
  if (add_token_->parsed()) return RunAddToken();
  if (verify_audit_->parsed()) return RunVerifyAudit(connection, json);
  if (rotate_key_->parsed()) return RunRotateKey(connection, json);
  if (keys_->parsed()) return RunKeys(connection, json);
  if (recount_->parsed()) return RunRecount(connection, json);
  if (purge_->parsed()) return RunPurge(connection, json);
  if (backups_->parsed()) return backups_->Run(connection, json);
  return 2;
}

int AdminCommands::RunAddToken() {
  std::optional<v1::Role> role = triage::RoleFromName(role_);
  if (!role) throw UsageError("--role: one of intake, triager, supervisor, monitor, admin");
  const std::string token = services::NewBearerToken();
  absl::Status added = services::AppendTokenEntry(credentials_file_, principal_, *role, token);
  if (!added.ok()) {
    std::fprintf(stderr, "triagectl: %s\n", std::string(added.message()).c_str());
    return added.code() == absl::StatusCode::kAlreadyExists ? 3 : 1;
  }
  std::fprintf(stderr,
               "Added %s (%s) to %s. The token is shown once; only its SHA-256 is stored.\n"
               "Send SIGHUP to the server to load it.\n",
               principal_.c_str(), role_.c_str(), credentials_file_.c_str());
  std::printf("%s\n", token.c_str());
  return 0;
}

int AdminCommands::RunAudit(const ConnectionOptions& connection, bool json) {
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  v1::GetAuditLogRequest request;
  request.set_report_id(report_id_);
  request.set_principal(principal_);
  if (!since_.empty()) *request.mutable_start_time() = ParseTimeOrUsage(since_, "since");
  if (!until_.empty()) *request.mutable_end_time() = ParseTimeOrUsage(until_, "until");
  int printed = 0;
  do {
    request.set_page_size(std::min(limit_ - printed, 1000));
    v1::GetAuditLogResponse response;
    grpc::Status status = stub->GetAuditLog(NewCallContext(connection).get(), request, &response);
    if (!status.ok()) return ReportCallError(status);
    for (const v1::AuditEntry& e : response.entries()) {
      if (printed++ == limit_) break;
      if (json) {
        std::cout << RenderJson(e);
      } else {
        std::cout << RenderAuditEntry(e);
      }
    }
    request.set_page_token(response.next_page_token());
  } while (!request.page_token().empty() && printed < limit_);
  if (!request.page_token().empty()) {
    std::fprintf(stderr,
                 "triagectl: more entries follow (oldest first): raise --limit or use --since\n");
  }
  return 0;
}

int AdminCommands::RunVerifyAudit(const ConnectionOptions& connection, bool json) {
  v1::VerifyAuditLogRequest request;
  for (const std::string& text : anchors_) {
    // Taken as the server logs it: "SEQ:HASH (at start)" works as well as "SEQ:HASH".
    absl::StatusOr<common::AuditAnchorPoint> anchor =
        common::AuditAnchorPoint::Parse(text.substr(0, text.find(' ')));
    if (!anchor.ok()) throw UsageError(absl::StrCat("--", anchor.status().message()));
    v1::AuditAnchor* added = request.add_anchors();
    added->set_sequence(anchor->sequence);
    added->set_hash(anchor->hash);
  }
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  v1::VerifyAuditLogResponse response;
  grpc::Status status = stub->VerifyAuditLog(NewCallContext(connection).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
  } else if (response.intact()) {
    std::printf("Audit trail intact: %llu entries checked",
                static_cast<unsigned long long>(response.entries_checked()));
    if (response.anchors_checked() > 0) {
      std::printf(", on %u anchor%s", response.anchors_checked(),
                  response.anchors_checked() == 1 ? "" : "s (all)");
    }
    std::printf(".\nHead (keep as an anchor): %s\n",
                common::AuditAnchorPoint{response.head().sequence(), response.head().hash()}
                    .ToString()
                    .c_str());
  } else {
    std::printf("AUDIT TRAIL BROKEN at sequence %llu: %s (%llu entries checked)\n",
                static_cast<unsigned long long>(response.first_bad_sequence()),
                CleanText(response.problem()).c_str(),
                static_cast<unsigned long long>(response.entries_checked()));
  }
  return response.intact() ? 0 : 5;
}

int AdminCommands::RunKeys(const ConnectionOptions& connection, bool json) {
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  v1::ListEncryptionKeysResponse response;
  grpc::Status status = stub->ListEncryptionKeys(NewCallContext(connection).get(),
                                                 v1::ListEncryptionKeysRequest(), &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  for (const v1::EncryptionKeyStatus& key : response.keys()) {
    std::printf("%s  %s\n", CleanText(key.key_id()).c_str(),
                key.current()  ? "current"
                : key.in_use() ? "in use (keep it in the key file)"
                               : "retired (nothing is sealed with it: may be removed)");
  }
  if (response.reencrypting()) {
    std::printf("A rotation is re-encrypting; older keys are retired once it completes.\n");
  }
  return 0;
}

int AdminCommands::RunRotateKey(const ConnectionOptions& connection, bool json) {
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  v1::RotateEncryptionKeyResponse response;
  grpc::Status status = stub->RotateEncryptionKey(NewCallContext(connection).get(),
                                                  v1::RotateEncryptionKeyRequest(), &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
  } else {
    std::printf("New current key %s; %llu records are being re-encrypted in the background.\n",
                CleanText(response.key_id()).c_str(),
                static_cast<unsigned long long>(response.records_to_reencrypt()));
  }
  return 0;
}

int AdminCommands::RunRecount(const ConnectionOptions& connection, bool json) {
  ConnectionOptions long_call = connection;  // reads every report: minutes for millions
  long_call.timeout_seconds = std::max(connection.timeout_seconds, 3600.0);
  auto stub = v1::Administration::NewStub(OpenChannel(long_call));
  v1::RecountStatisticsRequest request;
  request.set_max_differences(max_differences_);
  v1::RecountStatisticsResponse response;
  grpc::Status status =
      stub->RecountStatistics(NewCallContext(long_call).get(), request, &response);
  if (!status.ok()) return ReportCallError(status);
  if (json) {
    std::cout << RenderJson(response);
    return response.differences() == 0 ? 0 : 6;
  }
  std::printf("Recounted %llu reports; %llu counters compared: ",
              static_cast<unsigned long long>(response.reports_scanned()),
              static_cast<unsigned long long>(response.counters_compared()));
  if (response.differences() == 0) {
    std::printf("no difference.\n");
    return 0;
  }
  std::printf("%llu DIFFERENCES.\n", static_cast<unsigned long long>(response.differences()));
  std::printf("%-60s %5s %12s %12s\n", "counter", "cell", "stored", "recounted");
  for (const v1::CounterDifference& d : response.listed()) {
    std::printf("%-60s %5u %12llu %12llu\n", CleanText(d.counter()).c_str(), d.cell(),
                static_cast<unsigned long long>(d.stored()),
                static_cast<unsigned long long>(d.recounted()));
  }
  if (response.differences() > static_cast<uint64_t>(response.listed_size())) {
    std::printf("(%d listed; raise --max-differences for more)\n", response.listed_size());
  }
  return 6;
}

int AdminCommands::RunPurge(const ConnectionOptions& connection, bool json) {
  v1::PurgeExpiredReportsRequest request;
  request.set_dry_run(dry_run_);
  if (!closed_before_.empty()) {
    *request.mutable_closed_before() = ParseTimeOrUsage(closed_before_, "closed-before");
  }
  ConnectionOptions long_call = connection;  // examines every closed report
  long_call.timeout_seconds = std::max(connection.timeout_seconds, 3600.0);
  auto stub = v1::Administration::NewStub(OpenChannel(long_call));
  v1::PurgeExpiredReportsResponse response;
  grpc::Status status =
      stub->PurgeExpiredReports(NewCallContext(long_call).get(), request, &response);
  if (!status.ok()) {
    const int code = ReportCallError(status);
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
        absl::StartsWith(status.error_message(), "no retention period is set")) {
      std::fprintf(stderr,
                   "triagectl: for a server started with `make run`: make run "
                   "RETENTION=no_further_action=400d (PURGE_DAILY_AT= for no daily purge)\n");
    }
    return code;
  }
  if (json) {
    std::cout << RenderJson(response);
    return 0;
  }
  std::cout << RenderPurge(response);
  return 0;
}

}  // namespace safeguarding::tools
