#include "services/triage_desk_service.h"

#include "services/unary.h"
#include "triage/intake.h"

namespace safeguarding::services {

grpc::ServerUnaryReactor* TriageDeskService::GetReport(grpc::CallbackServerContext* context,
                                                       const v1::GetReportRequest* request,
                                                       v1::Report* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishUnary(reactor, "GetReport",
              triage::ReadReport(*store_, CallerFrom(*context), request->report_id()), response);
  return reactor;
}

}  // namespace safeguarding::services
