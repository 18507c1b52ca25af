// gRPC handlers of safeguarding.triage.v1.ReportIntake. Thin: admit, call the domain, map
// the status. The call finishes on the committer thread once the report is durable.
#ifndef SAFEGUARDING_SERVICES_INTAKE_SERVICE_H_
#define SAFEGUARDING_SERVICES_INTAKE_SERVICE_H_

#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "services/access_guard.h"
#include "triage/intake.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class IntakeService final : public v1::ReportIntake::CallbackService {
 public:
  IntakeService(const AccessGuard* guard, const triage::Intake* intake)
      : guard_(guard), intake_(intake) {}

  grpc::ServerUnaryReactor* SubmitReport(grpc::CallbackServerContext* context,
                                         const v1::SubmitReportRequest* request,
                                         v1::SubmitReportResponse* response) override;

 private:
  const AccessGuard* const guard_;
  const triage::Intake* const intake_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_INTAKE_SERVICE_H_
