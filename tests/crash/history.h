// The crash campaign's client-side history: what each request was told (acknowledged,
// failed or unknown), and the checks of the store against it after each restart.
// Thread-safe for the recording calls; the checks run with the clients stopped.
#ifndef SAFEGUARDING_TESTS_CRASH_HISTORY_H_
#define SAFEGUARDING_TESTS_CRASH_HISTORY_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"

namespace safeguarding::crash {

namespace v1 = ::safeguarding::triage::v1;

// The server as the checks call it.
class Server {
 public:
  virtual ~Server() = default;
  virtual v1::ReportIntake::Stub& intake() = 0;
  virtual v1::TriageDesk::Stub& desk() = 0;
  virtual v1::Administration::Stub& admin() = 0;
  virtual std::unique_ptr<grpc::ClientContext> As(v1::Role role) const = 0;
};

// The description a request id's report carries, so content can be checked.
std::string DescriptionFor(const std::string& request_id);

class History {
 public:
  // A submit's answer: OK with its report id, or the error (its outcome unknown).
  void Submitted(const std::string& request_id, const grpc::Status& status,
                 const std::string& report_id);
  // A decision's answer.
  void Decided(const std::string& report_id, v1::Outcome outcome, const grpc::Status& status);

  // After a restart: the submits and decisions acknowledged since the last check are in the
  // store; unknown submits are retried (same request id) and must resolve to one report.
  void CheckCycle(int cycle, Server& server);
  // Everything: each request id's report with its content and state, one report per
  // request id, counters (recount), queues and claims, the audit trail.
  void CheckWhole(Server& server);

  void Problem(std::string what);
  std::vector<std::string> problems() const;
  // Acknowledged submits or decisions found missing.
  uint64_t lost() const { return lost_.load(); }
  std::string Summary(int cycle) const;

 private:
  struct Submit {
    std::string report_id;  // empty while unknown
    bool acknowledged = false;
    bool checked = false;
  };
  struct Decision {
    v1::Outcome outcome = v1::OUTCOME_UNSPECIFIED;
    bool acknowledged = false;
    bool checked = false;
  };

  // GetReport of `report_id`; false (and a problem) if it is not there.
  bool Present(Server& server, const std::string& report_id, v1::Report* report);
  void CheckSubmit(Server& server, const std::string& request_id, Submit& submit);
  void ResolveUnknown(Server& server, const std::string& request_id, Submit& submit);
  void CheckDecision(Server& server, const std::string& report_id, Decision& decision);
  // Each acknowledged submit's report, with its content, and the queues against the states.
  void CheckEveryReport(Server& server);
  // The queues against `states` (every report's state, read between the two listings).
  // False if the two listings differ (a lease expired: read again) unless `last_attempt`.
  bool CheckQueues(const v1::ListQueuesResponse& before, const v1::ListQueuesResponse& after,
                   std::map<v1::ReportState, uint64_t> states, bool last_attempt);
  void CheckRecount(Server& server);
  void CheckAudit(Server& server);
  void Lost(std::string what);

  mutable absl::Mutex mu_;
  std::map<std::string, Submit> submits_ ABSL_GUARDED_BY(mu_);      // by request id
  std::map<std::string, Decision> decisions_ ABSL_GUARDED_BY(mu_);  // by report id
  uint64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t unknown_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t decided_ ABSL_GUARDED_BY(mu_) = 0;
  std::atomic<uint64_t> resolved_present_{0};  // unknown submits that had been committed
  uint64_t whole_checks_ = 0;
  std::atomic<uint64_t> lost_{0};
  mutable absl::Mutex problems_mu_;
  std::vector<std::string> problems_ ABSL_GUARDED_BY(problems_mu_);
};

}  // namespace safeguarding::crash

#endif  // SAFEGUARDING_TESTS_CRASH_HISTORY_H_
