// Advice shown to a reporter right after a submission. Pure; depends only on who reported
// and what they said, so a replayed response shows the same words.
#ifndef SAFEGUARDING_TRIAGE_ADVICE_H_
#define SAFEGUARDING_TRIAGE_ADVICE_H_

#include <string>

#include "safeguarding/triage/v1/report.pb.h"

namespace safeguarding::triage {

std::string AdviceFor(const ::safeguarding::triage::v1::ReportSubmission& submission);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_ADVICE_H_
