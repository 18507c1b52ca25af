#include "triage/advice.h"

#include "absl/strings/str_cat.h"

namespace safeguarding::triage {

std::string AdviceFor(const v1::ReportSubmission& s) {
  std::string advice =
      "Thank you: your report has been received and will be looked at by our team. "
      "If a child is in immediate danger, call 999 now.";
  switch (s.reporter().type()) {
    case v1::REPORTER_TYPE_CHILD:
      absl::StrAppend(&advice,
                      " You did the right thing by telling us. You can talk to Childline any "
                      "time, free and in confidence, on 0800 1111.");
      break;
    case v1::REPORTER_TYPE_PROFESSIONAL:
      absl::StrAppend(&advice,
                      " Follow your organisation's safeguarding procedures and tell your "
                      "designated safeguarding lead.");
      break;
    default:
      absl::StrAppend(&advice, " Keep the child safe and let them know they are not in trouble.");
      break;
  }
  absl::StrAppend(&advice,
                  " Keep messages, usernames and links as evidence, but do not copy, forward "
                  "or share any images.");
  return advice;
}

}  // namespace safeguarding::triage
