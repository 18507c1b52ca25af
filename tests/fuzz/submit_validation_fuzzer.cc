// Fuzzes request validation (triage/validation.h), as SubmitReport runs it on what a client
// sends: the input is parsed as a wire-format SubmitReportRequest and, separately, used as
// the contents of the fields of an otherwise valid request (FuzzedDataProvider edits).
//
// Asserts, for every request: the answer is OK or INVALID_ARGUMENT; a refusal carries a
// google.rpc.BadRequest naming at least one field, each under request_id or report, and the
// message lists exactly those fields; ValidateSubmission finds the same report violations;
// IsValidUtf8 agrees with protobuf's own UTF-8 validator on every text field; a few rules
// are checked against an independent oracle (request id, report present, description);
// and an accepted request survives a wire round trip (accepted again, same fingerprint) and
// is assessed by the shipped policy into a declared queue, a priority from IMMEDIATE to
// ROUTINE and the due time of that priority.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "tests/fuzz/fuzz_store_fixture.h"
#include "tests/fuzz/sample_submissions.h"
#include "triage/intake.h"
#include "triage/policy.h"
#include "triage/validation.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::TimeUtil;

bool ProtobufSaysUtf8(const std::string& s) {
  return google::protobuf::internal::IsStructurallyValidUTF8(s.data(), static_cast<int>(s.size()));
}

void CheckUtf8Agrees(const std::string& s) {
  FuzzCheck(triage::IsValidUtf8(s) == ProtobufSaysUtf8(s),
            "IsValidUtf8 disagrees with protobuf's UTF-8 validator");
  triage::FieldViolations v;
  triage::ValidateText("text", s, 1000, /*required=*/true, v);
  const bool text_ok = !s.empty() && s.size() <= 1000 && ProtobufSaysUtf8(s);
  FuzzCheck(v.empty() == text_ok, "ValidateText disagrees with its rule");
}

// Rules an accepted request must meet, written independently of validation.cc.
bool OracleRefuses(const v1::SubmitReportRequest& request) {
  const std::string& id = request.request_id();
  if (id.empty() || id.size() > triage::kMaxRequestIdBytes ||
      !std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < 0x7F; })) {
    return true;
  }
  if (!request.has_report()) return true;
  const v1::ReportSubmission& s = request.report();
  const std::string& d = s.description();
  if (absl::StripAsciiWhitespace(d).empty() || d.size() > triage::kMaxDescriptionBytes ||
      !ProtobufSaysUtf8(d)) {
    return true;
  }
  if (!s.has_reporter() || s.categories().empty()) return true;
  if (s.has_child_age() && (s.child_age() < 0 || s.child_age() > triage::kMaxChildAge)) {
    return true;
  }
  return false;
}

void CheckRefusal(const v1::SubmitReportRequest& request, const absl::Status& status) {
  FuzzCheck(status.code() == absl::StatusCode::kInvalidArgument, "refusal not INVALID_ARGUMENT");
  auto payload = status.GetPayload(triage::kBadRequestTypeUrl);
  FuzzCheck(payload.has_value(), "refusal without a BadRequest payload");
  google::rpc::BadRequest bad_request;
  FuzzCheck(bad_request.ParseFromString(std::string(*payload)), "BadRequest does not parse");
  FuzzCheck(bad_request.field_violations_size() > 0, "refusal names no field");
  std::vector<std::string> fields;
  int report_violations = 0;
  for (const google::rpc::BadRequest::FieldViolation& fv : bad_request.field_violations()) {
    FuzzCheck(!fv.description().empty(), "a violation without a description");
    FuzzCheck(fv.field() == "request_id" || fv.field() == "report" ||
                  absl::StartsWith(fv.field(), "report."),
              "a violation outside request_id and report");
    if (absl::StartsWith(fv.field(), "report.")) ++report_violations;
    fields.push_back(fv.field());
  }
  FuzzCheck(status.message() == absl::StrCat("invalid fields: ", absl::StrJoin(fields, ", ")),
            "the message does not list the violated fields");
  if (request.has_report()) {
    triage::FieldViolations v;
    triage::ValidateSubmission(request.report(), "report", v);
    FuzzCheck(static_cast<int>(v.violations().size()) == report_violations,
              "ValidateSubmission disagrees with ValidateSubmitReport");
  }
}

void CheckAccepted(const v1::SubmitReportRequest& request) {
  FuzzCheck(!OracleRefuses(request), "accepted a request the oracle refuses");
  v1::SubmitReportRequest again;
  FuzzCheck(again.ParseFromString(request.SerializeAsString()), "accepted request reparses");
  FuzzCheck(triage::ValidateSubmitReport(again).ok(), "accepted request refused after round trip");
  FuzzCheck(
      triage::Intake::Fingerprint(again.report()) == triage::Intake::Fingerprint(request.report()),
      "fingerprint changed by a wire round trip");
  const triage::TriagePolicy& policy = triage::TriagePolicy::Shipped();
  const v1::TriageAssessment assessment = policy.Evaluate(request.report(), FuzzNow());
  FuzzCheck(assessment.priority() >= v1::PRIORITY_IMMEDIATE &&
                assessment.priority() <= v1::PRIORITY_ROUTINE,
            "assessed priority out of range");
  FuzzCheck(policy.HasQueue(assessment.queue()), "assessed into an undeclared queue");
  FuzzCheck(TimeUtil::TimestampToMicroseconds(assessment.due_time()) ==
                absl::ToUnixMicros(policy.DueTime(assessment.priority(), FuzzNow())),
            "due time is not received + the priority's target");
}

void CheckValidation(const v1::SubmitReportRequest& request) {
  const v1::ReportSubmission& s = request.report();
  for (const std::string* text : {&request.request_id(), &s.description(), &s.platform(),
                                  &s.region(), &s.reporter().contact().name()}) {
    CheckUtf8Agrees(*text);
  }
  const absl::Status status = triage::ValidateSubmitReport(request);
  if (status.ok()) {
    CheckAccepted(request);
  } else {
    CheckRefusal(request, status);
  }
}

// A valid sample with fields replaced by the input's bytes.
v1::SubmitReportRequest RequestFrom(FuzzedDataProvider& in) {
  const std::vector<v1::ReportSubmission>& samples = SampleSubmissions();
  v1::SubmitReportRequest r;
  r.set_request_id("3f2b8c1e-0d4a-4e59-9b7a-6c1d2e3f4a5b");
  *r.mutable_report() = samples[in.ConsumeIntegralInRange<size_t>(0, samples.size() - 1)];
  v1::ReportSubmission& s = *r.mutable_report();
  v1::Reporter& reporter = *s.mutable_reporter();
  while (in.remaining_bytes() > 0) {
    switch (in.ConsumeIntegralInRange(0, 14)) {
      case 0:
        r.set_request_id(in.ConsumeRandomLengthString());
        break;
      case 1:
        s.set_description(in.ConsumeRandomLengthString());
        break;
      case 2:
        s.set_platform(in.ConsumeRandomLengthString());
        break;
      case 3:
        s.set_region(in.ConsumeRandomLengthString());
        break;
      case 4:
        reporter.mutable_contact()->set_name(in.ConsumeRandomLengthString());
        break;
      case 5:
        reporter.mutable_contact()->set_email(in.ConsumeRandomLengthString());
        break;
      case 6:
        reporter.mutable_contact()->set_phone(in.ConsumeRandomLengthString());
        break;
      case 7:
        s.set_child_age(in.ConsumeIntegral<int32_t>());
        break;
      case 8:
        s.add_categories(static_cast<v1::ConcernCategory>(in.ConsumeIntegral<int8_t>()));
        break;
      case 9:
        s.add_channels(static_cast<v1::Channel>(in.ConsumeIntegral<int8_t>()));
        break;
      case 10:
        reporter.set_type(static_cast<v1::ReporterType>(in.ConsumeIntegral<int8_t>()));
        break;
      case 11:
        reporter.set_professional_role(
            static_cast<v1::ProfessionalRole>(in.ConsumeIntegral<int8_t>()));
        break;
      case 12:
        s.clear_categories();
        break;
      case 13:
        s.set_immediate_danger(in.ConsumeBool());
        s.set_planned_meeting(in.ConsumeBool());
        s.set_ongoing_contact(in.ConsumeBool());
        break;
      default:
        s.set_description(std::string(in.ConsumeIntegralInRange(0, 25000), 'x'));
        break;
    }
  }
  return r;
}

}  // namespace
}  // namespace safeguarding::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  safeguarding::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): the entry point only
  v1::SubmitReportRequest parsed;
  if (parsed.ParseFromArray(data, static_cast<int>(size))) CheckValidation(parsed);
  FuzzedDataProvider provider(data, size);
  CheckValidation(RequestFrom(provider));
  return 0;
}
