// gRPC handlers of safeguarding.triage.v1.TriageDesk. Thin: admit, call the domain, map.
// The domain is triage::Desk; WatchQueues streams come from QueueWatches.
#ifndef SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_
#define SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_

#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/access_guard.h"
#include "services/queue_watch.h"
#include "triage/desk.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class ServerMetrics;

class TriageDeskService final : public v1::TriageDesk::CallbackService {
 public:
  // Claims and decisions are counted in `metrics`, if given.
  TriageDeskService(const AccessGuard* guard, triage::Desk* desk, QueueWatches* watches,
                    const ServerMetrics* metrics = nullptr)
      : guard_(guard), desk_(desk), watches_(watches), metrics_(metrics) {}

  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* context,
                                      const v1::GetReportRequest* request,
                                      v1::Report* response) override;

  grpc::ServerUnaryReactor* ListQueues(grpc::CallbackServerContext* context,
                                       const v1::ListQueuesRequest*,
                                       v1::ListQueuesResponse*) override;
  grpc::ServerUnaryReactor* ClaimNextReport(grpc::CallbackServerContext* context,
                                            const v1::ClaimNextReportRequest*,
                                            v1::ClaimNextReportResponse*) override;
  grpc::ServerUnaryReactor* RenewClaim(grpc::CallbackServerContext* context,
                                       const v1::RenewClaimRequest*, v1::Claim*) override;
  grpc::ServerUnaryReactor* ReleaseReport(grpc::CallbackServerContext* context,
                                          const v1::ReleaseReportRequest*, v1::Report*) override;
  grpc::ServerUnaryReactor* ListReports(grpc::CallbackServerContext* context,
                                        const v1::ListReportsRequest*,
                                        v1::ListReportsResponse*) override;
  grpc::ServerUnaryReactor* RecordDecision(grpc::CallbackServerContext* context,
                                           const v1::RecordDecisionRequest*, v1::Report*) override;
  grpc::ServerUnaryReactor* Reprioritise(grpc::CallbackServerContext* context,
                                         const v1::ReprioritiseRequest*, v1::Report*) override;
  grpc::ServerUnaryReactor* AddNote(grpc::CallbackServerContext* context, const v1::AddNoteRequest*,
                                    v1::ReportEvent*) override;
  grpc::ServerUnaryReactor* GetReportHistory(grpc::CallbackServerContext* context,
                                             const v1::GetReportHistoryRequest*,
                                             v1::GetReportHistoryResponse*) override;
  grpc::ServerWriteReactor<v1::QueueSummary>* WatchQueues(grpc::CallbackServerContext* context,
                                                          const v1::WatchQueuesRequest*) override;

 private:
  const AccessGuard* const guard_;
  triage::Desk* const desk_;
  QueueWatches* const watches_;
  const ServerMetrics* const metrics_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_TRIAGE_DESK_SERVICE_H_
