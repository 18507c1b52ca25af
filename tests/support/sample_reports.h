// Valid sample reports for tests; each test changes what it is about.
#ifndef SAFEGUARDING_TESTS_SUPPORT_SAMPLE_REPORTS_H_
#define SAFEGUARDING_TESTS_SUPPORT_SAMPLE_REPORTS_H_

#include <string>

#include "safeguarding/triage/v1/intake.pb.h"
#include "storage/report_records.h"

namespace safeguarding::testing {

namespace v1 = ::safeguarding::triage::v1;

// A valid submission: a 13-year-old child reporting grooming in an online game.
v1::ReportSubmission ValidSubmission();
// ValidSubmission() with the given request id.
v1::SubmitReportRequest ValidRequest(const std::string& request_id);
// A complete new report as the domain would hand it to the store (a fresh id, queue
// "child", STANDARD, received 2023-11-14).
storage::NewReport SampleNewReport(const std::string& caller, const std::string& request_id,
                                   const std::string& fingerprint);

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_SAMPLE_REPORTS_H_
