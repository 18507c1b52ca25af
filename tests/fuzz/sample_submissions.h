// Valid submissions for the fuzz targets: a handful that between them reach every kind of
// rule of the shipped policy (ages, categories, danger flags, reporter types, regions).
#ifndef SAFEGUARDING_TESTS_FUZZ_SAMPLE_SUBMISSIONS_H_
#define SAFEGUARDING_TESTS_FUZZ_SAMPLE_SUBMISSIONS_H_

#include <vector>

#include "absl/time/time.h"
#include "safeguarding/triage/v1/report.pb.h"

namespace safeguarding::fuzz {

namespace v1 = ::safeguarding::triage::v1;

// Each passes triage::ValidateSubmission.
const std::vector<v1::ReportSubmission>& SampleSubmissions();

// The day the fuzz runs pretend it is (2026-12-07 12:00 UTC).
absl::Time FuzzNow();

}  // namespace safeguarding::fuzz

#endif  // SAFEGUARDING_TESTS_FUZZ_SAMPLE_SUBMISSIONS_H_
