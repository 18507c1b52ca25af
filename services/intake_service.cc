#include "services/intake_service.h"

#include "services/unary.h"

namespace safeguarding::services {

grpc::ServerUnaryReactor* IntakeService::SubmitReport(grpc::CallbackServerContext* context,
                                                      const v1::SubmitReportRequest* request,
                                                      v1::SubmitReportResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  intake_->Submit(CallerFrom(*context), *request,
                  [reactor, response](absl::StatusOr<v1::SubmitReportResponse> result) {
                    FinishUnary(reactor, "SubmitReport", std::move(result), response);
                  });
  return reactor;
}

}  // namespace safeguarding::services
