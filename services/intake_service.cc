#include "services/intake_service.h"

#include "services/unary.h"

namespace safeguarding::services {

grpc::ServerUnaryReactor* IntakeService::SubmitReport(grpc::CallbackServerContext* context,
                                                      const v1::SubmitReportRequest* request,
                                                      v1::SubmitReportResponse* response) {
  static const triage::Rpc& kRpc = RpcOf<v1::ReportIntake>(__func__);
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      intake_->Submit(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

}  // namespace safeguarding::services
