#include "services/triage_desk_service.h"

#include "services/metrics.h"
#include "services/unary.h"

namespace safeguarding::services {
namespace {

const triage::Rpc& DeskRpc(const char* handler) { return RpcOf<v1::TriageDesk>(handler); }

// A server-streaming reactor that only ever finishes with one status (a refusal, or
// UNIMPLEMENTED) and deletes itself when gRPC is done with it.
class FinishOnlyWriter final : public grpc::ServerWriteReactor<v1::QueueSummary> {
 public:
  explicit FinishOnlyWriter(RpcTimer timer) : timer_(timer) {}
  void FinishWith(const absl::Status& status) {
    grpc::Status finished = ToGrpcStatus(status);
    code_ = finished.error_code();
    Finish(std::move(finished));
  }
  void OnDone() override {
    timer_.Done(code_);
    delete this;
  }

 private:
  const RpcTimer timer_;
  grpc::StatusCode code_ = grpc::StatusCode::UNKNOWN;
};

}  // namespace

grpc::ServerUnaryReactor* TriageDeskService::GetReport(grpc::CallbackServerContext* context,
                                                       const v1::GetReportRequest* request,
                                                       v1::Report* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->GetReport(caller, request->report_id(), ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::ListQueues(grpc::CallbackServerContext* context,
                                                        const v1::ListQueuesRequest* request,
                                                        v1::ListQueuesResponse* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        (void)request;
        desk_->ListQueues(caller, ReplyTo(reactor, kRpc, response));
      },
      "");
}

grpc::ServerUnaryReactor* TriageDeskService::ClaimNextReport(
    grpc::CallbackServerContext* context, const v1::ClaimNextReportRequest* request,
    v1::ClaimNextReportResponse* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->ClaimNextReport(
            caller, *request,
            ReplyTo(reactor, kRpc, response,
                    [metrics = metrics_](const v1::ClaimNextReportResponse& claimed) {
                      if (metrics != nullptr && claimed.has_report()) metrics->ReportClaimed();
                    }));
      },
      "");
}

grpc::ServerUnaryReactor* TriageDeskService::RenewClaim(grpc::CallbackServerContext* context,
                                                        const v1::RenewClaimRequest* request,
                                                        v1::Claim* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->RenewClaim(caller, *request, ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::ReleaseReport(grpc::CallbackServerContext* context,
                                                           const v1::ReleaseReportRequest* request,
                                                           v1::Report* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->ReleaseReport(caller, *request, ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::ListReports(grpc::CallbackServerContext* context,
                                                         const v1::ListReportsRequest* request,
                                                         v1::ListReportsResponse* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      desk_->ListReports(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* TriageDeskService::RecordDecision(
    grpc::CallbackServerContext* context, const v1::RecordDecisionRequest* request,
    v1::Report* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->RecordDecision(
            caller, *request,
            ReplyTo(reactor, kRpc, response,
                    [metrics = metrics_, outcome = request->outcome()](const v1::Report&) {
                      if (metrics != nullptr) metrics->DecisionRecorded(outcome);
                    }));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::Reprioritise(grpc::CallbackServerContext* context,
                                                          const v1::ReprioritiseRequest* request,
                                                          v1::Report* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->Reprioritise(caller, *request, ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::AddNote(grpc::CallbackServerContext* context,
                                                     const v1::AddNoteRequest* request,
                                                     v1::ReportEvent* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->AddNote(caller, *request, ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerUnaryReactor* TriageDeskService::GetReportHistory(
    grpc::CallbackServerContext* context, const v1::GetReportHistoryRequest* request,
    v1::GetReportHistoryResponse* response) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc,
      [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        desk_->GetReportHistory(caller, *request, ReplyTo(reactor, kRpc, response));
      },
      request->report_id());
}

grpc::ServerWriteReactor<v1::QueueSummary>* TriageDeskService::WatchQueues(
    grpc::CallbackServerContext* context, const v1::WatchQueuesRequest* request) {
  static const triage::Rpc& kRpc = DeskRpc(__func__);
  // The refusal may be answered after Check returns (once it is on record), so its
  // reactor exists from the start; an admitted call gets a stream instead.
  const RpcTimer timer(guard_->rpc_observer(), kRpc);  // until the stream ends
  auto* refused = new FinishOnlyWriter(timer);
  grpc::ServerWriteReactor<v1::QueueSummary>* stream = nullptr;
  guard_->Check(
      *context, kRpc, "",
      [&](triage::Caller caller) {
        stream =
            watches_->Start(caller, {request->queues().begin(), request->queues().end()}, timer);
      },
      [refused](absl::Status refusal) { refused->FinishWith(refusal); });
  if (stream == nullptr) return refused;
  delete refused;  // never handed to gRPC
  return stream;
}

}  // namespace safeguarding::services
