#include "tests/support/sample_reports.h"

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

}  // namespace safeguarding::testing
