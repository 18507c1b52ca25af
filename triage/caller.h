// Caller: who is making a request, as established by the services layer. The domain uses
// it to scope idempotency keys and to name the actor of every change in a report's history.
#ifndef SAFEGUARDING_TRIAGE_CALLER_H_
#define SAFEGUARDING_TRIAGE_CALLER_H_

#include <string>

namespace safeguarding::triage {

struct Caller {
  // Authenticated principal name; "anonymous" on an unauthenticated development server.
  std::string principal = "anonymous";
  // Transport peer ("ipv4:127.0.0.1:5555"), for the audit trail.
  std::string peer;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_CALLER_H_
