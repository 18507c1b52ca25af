// Fuzzes page tokens, as clients send them back: the input is the page_token of a
// TriageDesk ListReports request (triage/desk_reads.cc decodes it into a report id) and of
// an Administration GetAuditLog request (storage/audit_trail.cc decodes it into an audit
// key), both answered by the real domain objects over a real store (FuzzStore) holding
// reports submitted through Intake at start-up.
//
// Asserts: a token is accepted exactly when it is what a previous page hands out (empty, or
// 32 hex digits: either case for ListReports, lower case for GetAuditLog), and refused as
// INVALID_ARGUMENT otherwise; a page after a token holds only what comes after it (reports
// older than the token's id, newest first; audit entries at or after the token's key, in
// chain order), also for the audit entries of one report; and the next_page_token of a page
// is accepted in turn and continues strictly after what the page held.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "storage/key_encoding.h"
#include "storage/report_id.h"
#include "tests/fuzz/fuzz_store_fixture.h"
#include "tests/fuzz/sample_submissions.h"
#include "triage/administration.h"
#include "triage/desk.h"
#include "triage/intake.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::TimeUtil;
using storage::ReportId;

constexpr int kSeededReports = 24;

struct Fixture {
  FuzzStore& fuzz = FuzzStore::Get();
  triage::Desk desk{&fuzz.store(), &fuzz.policy(), &fuzz.clock(), [] {
                      triage::DeskOptions options;
                      options.run_lease_keeper = false;
                      return options;
                    }()};
  triage::Administration administration{&fuzz.store()};
  std::vector<std::string> report_ids;  // as submitted, oldest first
};

Fixture& TheFixture() {
  static Fixture* const fixture = [] {
    auto* f = new Fixture();
    triage::Intake intake(&f->fuzz.store(), &f->fuzz.policy(), &f->fuzz.clock());
    triage::Caller caller = FuzzStore::Supervisor("/safeguarding.triage.v1.Intake/SubmitReport");
    caller.role = v1::ROLE_INTAKE;
    for (int i = 0; i < kSeededReports; ++i) {
      v1::SubmitReportRequest request;
      request.set_request_id(absl::StrCat("seed-", i));
      *request.mutable_report() = SampleSubmissions()[i % SampleSubmissions().size()];
      f->fuzz.clock().Advance(absl::Minutes(7));
      absl::StatusOr<v1::SubmitReportResponse> submitted =
          FuzzStore::Await<v1::SubmitReportResponse>(
              [&](auto done) { intake.Submit(caller, request, std::move(done)); });
      FuzzCheck(submitted.ok(), "seeding a report");
      f->report_ids.push_back(submitted->report_id());
    }
    return f;
  }();
  return *fixture;
}

bool AllHex(absl::string_view s, bool lower_only) {
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return absl::ascii_isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f') ||
           (!lower_only && c >= 'A' && c <= 'F');
  });
}

bool IsToken(absl::string_view s, bool lower_only) {
  return s.size() == 2 * ReportId::kBytes && AllHex(s, lower_only);
}

bool RefusesPageToken(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument &&
         absl::StrContains(status.message(), "page_token");
}

[[nodiscard]] absl::StatusOr<v1::ListReportsResponse> List(const std::string& token) {
  v1::ListReportsRequest request;
  request.set_page_size(4);
  request.set_page_token(token);
  return FuzzStore::Await<v1::ListReportsResponse>([&](auto done) {
    TheFixture().desk.ListReports(
        FuzzStore::Supervisor("/safeguarding.triage.v1.TriageDesk/ListReports"), request,
        std::move(done));
  });
}

std::string IdBytes(const v1::Report& report) {
  std::optional<ReportId> id = ReportId::Parse(report.id());
  FuzzCheck(id.has_value(), "a listed report's id does not parse");
  return std::string(id->bytes());
}

// Reports newest first, every one strictly before `after` (bytes of an id; "" for none).
void CheckListing(const v1::ListReportsResponse& page, const std::string& after) {
  std::string previous = after;
  for (const v1::Report& report : page.reports()) {
    const std::string id = IdBytes(report);
    FuzzCheck(previous.empty() || id < previous, "a listing is not newest first after its token");
    FuzzCheck(report.submission().description().empty(), "a listing carries a description");
    previous = id;
  }
}

void CheckListReports(const std::string& token) {
  absl::StatusOr<v1::ListReportsResponse> page = List(token);
  if (!token.empty() && !IsToken(token, /*lower_only=*/false)) {
    FuzzCheck(RefusesPageToken(page.status()), "ListReports accepted a malformed page token");
    return;
  }
  FuzzCheck(page.ok(), "ListReports refused a well-formed page token");
  CheckListing(*page, absl::HexStringToBytes(token));
  const std::string& next = page->next_page_token();
  if (next.empty()) return;
  FuzzCheck(IsToken(next, /*lower_only=*/true), "ListReports handed out a malformed token");
  const std::string next_bytes = absl::HexStringToBytes(next);
  FuzzCheck(page->reports().empty() || next_bytes <= IdBytes(*page->reports().rbegin()),
            "the next page token is before the page's last report");
  absl::StatusOr<v1::ListReportsResponse> following = List(next);
  FuzzCheck(following.ok(), "ListReports refused its own next page token");
  CheckListing(*following, next_bytes);
}

[[nodiscard]] absl::StatusOr<v1::GetAuditLogResponse> AuditLog(const std::string& token,
                                                               const std::string& report_id) {
  v1::GetAuditLogRequest request;
  request.set_page_size(3);
  request.set_page_token(token);
  request.set_report_id(report_id);
  return FuzzStore::Await<v1::GetAuditLogResponse>([&](auto done) {
    TheFixture().administration.GetAuditLog(
        FuzzStore::Supervisor("/safeguarding.triage.v1.Administration/GetAuditLog"), request,
        std::move(done));
  });
}

std::string KeyOf(const v1::AuditEntry& entry) {
  return storage::AuditKey(TimeUtil::TimestampToMicroseconds(entry.time()), entry.sequence());
}

// Entries in chain order, every one at or after `start` (an audit key; "" for none).
void CheckAuditPage(const v1::GetAuditLogResponse& page, const std::string& start,
                    const std::string& report_id) {
  std::string previous;
  for (const v1::AuditEntry& entry : page.entries()) {
    const std::string key = KeyOf(entry);
    FuzzCheck(key >= start, "an audit page holds an entry before its token");
    FuzzCheck(previous.empty() || key > previous, "an audit page is not in chain order");
    FuzzCheck(report_id.empty() || entry.report_id() == report_id, "another report's entry");
    previous = key;
  }
  const std::string& next = page.next_page_token();
  if (next.empty()) return;
  FuzzCheck(IsToken(next, /*lower_only=*/true), "GetAuditLog handed out a malformed token");
  FuzzCheck(absl::HexStringToBytes(next) > previous, "the next audit token is not after the page");
}

void CheckAuditLog(const std::string& token) {
  absl::StatusOr<v1::GetAuditLogResponse> page = AuditLog(token, "");
  if (!token.empty() && !IsToken(token, /*lower_only=*/true)) {
    FuzzCheck(RefusesPageToken(page.status()), "GetAuditLog accepted a malformed page token");
    return;
  }
  FuzzCheck(page.ok(), "GetAuditLog refused a well-formed page token");
  CheckAuditPage(*page, absl::HexStringToBytes(token), "");
  if (!page->next_page_token().empty()) {
    absl::StatusOr<v1::GetAuditLogResponse> following = AuditLog(page->next_page_token(), "");
    FuzzCheck(following.ok(), "GetAuditLog refused its own next page token");
    CheckAuditPage(*following, absl::HexStringToBytes(page->next_page_token()), "");
  }
  // The same token over one report's entries (the audit_by_report index).
  const std::vector<std::string>& ids = TheFixture().report_ids;
  const std::string& report_id = ids[static_cast<size_t>(token.size()) % ids.size()];
  absl::StatusOr<v1::GetAuditLogResponse> by_report = AuditLog(token, report_id);
  FuzzCheck(by_report.ok(), "GetAuditLog for one report refused a well-formed token");
  CheckAuditPage(*by_report, absl::HexStringToBytes(token), report_id);
}

}  // namespace
}  // namespace safeguarding::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  safeguarding::fuzz::QuietProtobufLogs();
  safeguarding::fuzz::TheFixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): the entry point only
  const std::string token(reinterpret_cast<const char*>(data), size);
  CheckListReports(token);
  CheckAuditLog(token);
  return 0;
}
