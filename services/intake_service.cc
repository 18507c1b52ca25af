#include "services/intake_service.h"

#include "services/unary.h"

namespace safeguarding::services {

constexpr char kSubmitReport[] = "/safeguarding.triage.v1.ReportIntake/SubmitReport";

grpc::ServerUnaryReactor* IntakeService::SubmitReport(grpc::CallbackServerContext* context,
                                                      const v1::SubmitReportRequest* request,
                                                      v1::SubmitReportResponse* response) {
  return AdmitUnary(*guard_, context, kSubmitReport,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      intake_->Submit(
                          caller, *request,
                          [reactor, response](absl::StatusOr<v1::SubmitReportResponse> result) {
                            FinishUnary(reactor, kSubmitReport, std::move(result), response);
                          });
                    });
}

}  // namespace safeguarding::services
