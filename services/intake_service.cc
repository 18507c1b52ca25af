#include "services/intake_service.h"

#include "services/metrics.h"
#include "services/unary.h"

namespace safeguarding::services {

grpc::ServerUnaryReactor* IntakeService::SubmitReport(grpc::CallbackServerContext* context,
                                                      const v1::SubmitReportRequest* request,
                                                      v1::SubmitReportResponse* response) {
  static const triage::Rpc& kRpc = RpcOf<v1::ReportIntake>(__func__);
  return AdmitUnary(
      *guard_, context, kRpc, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        const ServerMetrics* metrics = metrics_;
        const ServerMetrics::SubmitMark mark =
            metrics != nullptr ? metrics->MarkSubmit(request->report().reporter().type())
                               : ServerMetrics::SubmitMark{};
        intake_->Submit(caller, *request,
                        ReplyTo(reactor, kRpc, response,
                                [metrics, mark](const v1::SubmitReportResponse& accepted) {
                                  if (metrics != nullptr) metrics->SubmitAccepted(mark, accepted);
                                }));
      });
}

}  // namespace safeguarding::services
