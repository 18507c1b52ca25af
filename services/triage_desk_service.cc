#include "services/triage_desk_service.h"

#include "absl/strings/str_cat.h"
#include "services/unary.h"

namespace safeguarding::services {
namespace {

std::string Method(absl::string_view name) {
  return absl::StrCat("/safeguarding.triage.v1.TriageDesk/", name);
}

// A server-streaming reactor that only ever finishes with one status (a refusal, or
// UNIMPLEMENTED) and deletes itself when gRPC is done with it.
class FinishOnlyWriter final : public grpc::ServerWriteReactor<v1::QueueSummary> {
 public:
  void FinishWith(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerUnaryReactor* TriageDeskService::GetReport(grpc::CallbackServerContext* context,
                                                       const v1::GetReportRequest* request,
                                                       v1::Report* response) {
  static const std::string kMethod = Method("GetReport");
  return AdmitUnary(
      *guard_, context, kMethod,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->GetReport(caller, request->report_id(),
                         [reactor, response](absl::StatusOr<v1::Report> result) {
                           FinishUnary(reactor, kMethod, std::move(result), response);
                         });
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::ListQueues(grpc::CallbackServerContext* context,
                                                        const v1::ListQueuesRequest*,
                                                        v1::ListQueuesResponse*) {
  return NotYetImplemented(*guard_, context, Method("ListQueues"));
}

grpc::ServerUnaryReactor* TriageDeskService::ClaimNextReport(grpc::CallbackServerContext* context,
                                                             const v1::ClaimNextReportRequest*,
                                                             v1::ClaimNextReportResponse*) {
  return NotYetImplemented(*guard_, context, Method("ClaimNextReport"));
}

grpc::ServerUnaryReactor* TriageDeskService::RenewClaim(grpc::CallbackServerContext* context,
                                                        const v1::RenewClaimRequest*, v1::Claim*) {
  return NotYetImplemented(*guard_, context, Method("RenewClaim"));
}

grpc::ServerUnaryReactor* TriageDeskService::ReleaseReport(grpc::CallbackServerContext* context,
                                                           const v1::ReleaseReportRequest*,
                                                           v1::Report*) {
  return NotYetImplemented(*guard_, context, Method("ReleaseReport"));
}

grpc::ServerUnaryReactor* TriageDeskService::ListReports(grpc::CallbackServerContext* context,
                                                         const v1::ListReportsRequest*,
                                                         v1::ListReportsResponse*) {
  return NotYetImplemented(*guard_, context, Method("ListReports"));
}

grpc::ServerUnaryReactor* TriageDeskService::RecordDecision(grpc::CallbackServerContext* context,
                                                            const v1::RecordDecisionRequest*,
                                                            v1::Report*) {
  return NotYetImplemented(*guard_, context, Method("RecordDecision"));
}

grpc::ServerUnaryReactor* TriageDeskService::Reprioritise(grpc::CallbackServerContext* context,
                                                          const v1::ReprioritiseRequest*,
                                                          v1::Report*) {
  return NotYetImplemented(*guard_, context, Method("Reprioritise"));
}

grpc::ServerUnaryReactor* TriageDeskService::AddNote(grpc::CallbackServerContext* context,
                                                     const v1::AddNoteRequest*, v1::ReportEvent*) {
  return NotYetImplemented(*guard_, context, Method("AddNote"));
}

grpc::ServerUnaryReactor* TriageDeskService::GetReportHistory(grpc::CallbackServerContext* context,
                                                              const v1::GetReportHistoryRequest*,
                                                              v1::GetReportHistoryResponse*) {
  return NotYetImplemented(*guard_, context, Method("GetReportHistory"));
}

grpc::ServerWriteReactor<v1::QueueSummary>* TriageDeskService::WatchQueues(
    grpc::CallbackServerContext* context, const v1::WatchQueuesRequest*) {
  static const std::string kMethod = Method("WatchQueues");
  auto* reactor = new FinishOnlyWriter();
  guard_->Check(
      *context, kMethod, "",
      [reactor](triage::Caller) {
        reactor->FinishWith(absl::UnimplementedError(
            absl::StrCat(kMethod, " is part of the contract but not built yet")));
      },
      [reactor](absl::Status refusal) { reactor->FinishWith(refusal); });
  return reactor;
}

}  // namespace safeguarding::services
