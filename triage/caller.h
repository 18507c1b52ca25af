// Caller: who is making a request, as established by the services layer (authentication),
// and which method they called. The domain uses it to scope idempotency keys, to name the
// actor of every change in a report's history, and to write the audit trail.
#ifndef SAFEGUARDING_TRIAGE_CALLER_H_
#define SAFEGUARDING_TRIAGE_CALLER_H_

#include <memory>
#include <string>

#include "common/call_liveness.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::triage {

struct Caller {
  // Authenticated principal name; empty when authentication failed.
  std::string principal;
  ::safeguarding::triage::v1::Role role = ::safeguarding::triage::v1::ROLE_UNSPECIFIED;
  // Full gRPC method name, e.g. "/safeguarding.triage.v1.TriageDesk/GetReport".
  std::string method;
  // Transport peer ("ipv4:127.0.0.1:5555").
  std::string peer;
  // Whether the client still waits for the answer (its deadline, a cancellation); changes
  // it asks for carry it, so the store drops them unwritten once nobody waits. nullptr:
  // not a client's call.
  std::shared_ptr<const common::CallLiveness> liveness;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_CALLER_H_
