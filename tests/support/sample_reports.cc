#include "tests/support/sample_reports.h"

#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"

namespace safeguarding::testing {

v1::ReportSubmission ValidSubmission() {
  v1::ReportSubmission s;
  s.mutable_reporter()->set_type(v1::REPORTER_TYPE_CHILD);
  s.set_child_age(13);
  s.add_categories(v1::CONCERN_CATEGORY_GROOMING);
  s.add_channels(v1::CHANNEL_ONLINE_GAMING);
  s.set_platform("ExampleGame");
  s.set_region("Thames Valley");
  s.set_ongoing_contact(true);
  s.set_description("Someone I met in a game keeps asking me for photos.");
  return s;
}

v1::SubmitReportRequest ValidRequest(const std::string& request_id) {
  v1::SubmitReportRequest r;
  r.set_request_id(request_id);
  *r.mutable_report() = ValidSubmission();
  return r;
}

storage::NewReport SampleNewReport(const std::string& caller, const std::string& request_id,
                                   const std::string& fingerprint) {
  using ::google::protobuf::util::TimeUtil;
  const absl::Time received = absl::FromUnixSeconds(1700000000);
  storage::NewReport r;
  const storage::ReportId id = storage::ReportId::Generate(received);
  r.report.set_id(id.ToString());
  *r.report.mutable_received_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(received));
  r.report.mutable_submission()->set_description("words");
  r.report.mutable_triage()->set_priority(v1::PRIORITY_STANDARD);
  r.report.mutable_triage()->set_queue("child");
  *r.report.mutable_triage()->mutable_due_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(received + absl::Hours(24)));
  r.report.set_state(v1::REPORT_STATE_QUEUED);
  r.event.set_report_id(id.ToString());
  r.event.set_sequence(1);
  r.caller_scope = caller;
  r.request_id = request_id;
  r.fingerprint = fingerprint;
  r.response.set_report_id(id.ToString());
  return r;
}

}  // namespace safeguarding::testing
