// gRPC handlers of safeguarding.triage.v1.TriageDesk. Thin: decode, call the domain, map.
#ifndef SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_
#define SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_

#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "storage/report_store.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class TriageDeskService final : public v1::TriageDesk::CallbackService {
 public:
  explicit TriageDeskService(const storage::ReportStore* store) : store_(store) {}

  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* context,
                                      const v1::GetReportRequest* request,
                                      v1::Report* response) override;

 private:
  const storage::ReportStore* const store_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_
