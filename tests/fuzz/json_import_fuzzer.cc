// Fuzzes the JSON import: the input is a JSON lines file as `triagectl import` reads it (one
// protobuf JSON ImportedReport per line, parsed with the same JsonStringToMessage call as
// tools/triagectl/import_command.cc), and the reports read are sent to the real Importer
// (triage/import.h: validation, the policy, the store) in one ImportReports request.
//
// Asserts: the import answers (the store never fails here) with one result per report, for
// the same source id, each IMPORTED, ALREADY_IMPORTED or REFUSED; a refusal names fields of
// its own report and says why; an imported report reads back from the store as sent (its
// submission, received time, outcome and decision time, state closed exactly when decided,
// a declared queue, source IMPORT) and its submission passes ValidateSubmission; and the
// import is idempotent: the same request again imports nothing, answers each imported
// report ALREADY_IMPORTED with the same id, and refuses the same fields.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_id.h"
#include "tests/fuzz/fuzz_store_fixture.h"
#include "triage/import.h"
#include "triage/validation.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;

constexpr size_t kMaxLines = 16;

triage::Importer& TheImporter() {
  static triage::Importer* const importer = [] {
    FuzzStore& fuzz = FuzzStore::Get();
    return new triage::Importer(&fuzz.store(), &fuzz.policy(), &fuzz.clock());
  }();
  return *importer;
}

[[nodiscard]] absl::StatusOr<v1::ImportReportsResponse> Import(
    const v1::ImportReportsRequest& request) {
  triage::Caller caller =
      FuzzStore::Supervisor("/safeguarding.triage.v1.Administration/ImportReports");
  caller.principal = "fuzz-admin";
  caller.role = v1::ROLE_ADMIN;
  return FuzzStore::Await<v1::ImportReportsResponse>(
      [&](auto done) { TheImporter().ImportReports(caller, request, std::move(done)); });
}

// The request `triagectl import` would send for these lines (unreadable lines skipped).
v1::ImportReportsRequest RequestOf(absl::string_view input) {
  v1::ImportReportsRequest request;
  std::vector<absl::string_view> lines = absl::StrSplit(input, '\n');
  if (lines.size() > kMaxLines) lines.resize(kMaxLines);
  for (absl::string_view line : lines) {
    v1::ImportedReport report;
    if (google::protobuf::util::JsonStringToMessage(std::string(line), &report).ok()) {
      *request.add_reports() = std::move(report);
    }
  }
  return request;
}

void CheckImported(const v1::ImportedReport& sent, const std::string& report_id) {
  std::optional<storage::ReportId> id = storage::ReportId::Parse(report_id);
  FuzzCheck(id.has_value(), "an imported report's id does not parse");
  absl::StatusOr<v1::Report> stored = FuzzStore::Get().store().reports().Read(*id);
  FuzzCheck(stored.ok(), "an imported report cannot be read back");
  v1::ReportSubmission expected = sent.submission();
  expected.DiscardUnknownFields();
  FuzzCheck(MessageDifferencer::Equals(stored->submission(), expected),
            "an imported report's submission changed");
  FuzzCheck(MessageDifferencer::Equals(stored->received_time(), sent.received_time()),
            "an imported report's received time changed");
  FuzzCheck(stored->source() == v1::REPORT_SOURCE_IMPORT, "an imported report's source");
  FuzzCheck(stored->outcome() == sent.outcome(), "an imported report's outcome");
  const bool decided = sent.outcome() != v1::OUTCOME_UNSPECIFIED;
  FuzzCheck((stored->state() == v1::REPORT_STATE_CLOSED) == decided,
            "an imported report is closed exactly when it was decided");
  if (decided) {
    FuzzCheck(MessageDifferencer::Equals(stored->closed_time(), sent.decision_time()),
              "an imported report's decision time changed");
  }
  FuzzCheck(FuzzStore::Get().policy().Get()->HasQueue(stored->triage().queue()),
            "an imported report is in an undeclared queue");
  triage::FieldViolations v;
  triage::ValidateSubmission(stored->submission(), "submission", v);
  FuzzCheck(v.empty(), "an imported submission does not validate");
}

void CheckFirstImport(const v1::ImportReportsRequest& request,
                      const v1::ImportReportsResponse& response) {
  FuzzCheck(response.results_size() == request.reports_size(), "one result per report");
  for (int i = 0; i < response.results_size(); ++i) {
    const v1::ImportResult& result = response.results(i);
    FuzzCheck(result.source_id() == request.reports(i).source_id(), "a result's source id");
    switch (result.status()) {
      case v1::IMPORT_STATUS_IMPORTED:
        CheckImported(request.reports(i), result.report_id());
        break;
      case v1::IMPORT_STATUS_ALREADY_IMPORTED:
        FuzzCheck(storage::ReportId::Parse(result.report_id()).has_value(),
                  "an already imported report's id does not parse");
        break;
      case v1::IMPORT_STATUS_REFUSED:
        FuzzCheck(result.fields_size() > 0 && !result.error().empty(), "a refusal says nothing");
        for (const std::string& field : result.fields()) {
          FuzzCheck(absl::StartsWith(field, absl::StrCat("reports[", i, "].")),
                    "a refusal names another report's field");
        }
        break;
      default:
        FuzzCheck(false, "a result without a status");
    }
  }
}

void CheckImportedOnce(const v1::ImportReportsResponse& first,
                       const v1::ImportReportsResponse& again) {
  FuzzCheck(again.results_size() == first.results_size(), "one result per report, again");
  for (int i = 0; i < first.results_size(); ++i) {
    const v1::ImportResult& before = first.results(i);
    const v1::ImportResult& after = again.results(i);
    if (before.status() == v1::IMPORT_STATUS_REFUSED) {
      FuzzCheck(
          after.status() == v1::IMPORT_STATUS_REFUSED && MessageDifferencer::Equals(before, after),
          "a refused report is answered differently the second time");
    } else {
      FuzzCheck(after.status() == v1::IMPORT_STATUS_ALREADY_IMPORTED,
                "a report was imported twice");
      FuzzCheck(after.report_id() == before.report_id(), "a re-import names another report");
    }
  }
}

}  // namespace
}  // namespace safeguarding::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  safeguarding::fuzz::QuietProtobufLogs();
  safeguarding::fuzz::TheImporter();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): the entry point only
  const v1::ImportReportsRequest request =
      RequestOf(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (request.reports().empty()) return 0;
  absl::StatusOr<v1::ImportReportsResponse> first = Import(request);
  FuzzCheck(first.ok(), "ImportReports failed");
  CheckFirstImport(request, *first);
  absl::StatusOr<v1::ImportReportsResponse> again = Import(request);
  FuzzCheck(again.ok(), "ImportReports failed the second time");
  CheckImportedOnce(*first, *again);
  return 0;
}
