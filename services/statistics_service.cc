#include "services/statistics_service.h"

#include "services/unary.h"

namespace safeguarding::services {
namespace {

const triage::Rpc& StatisticsRpc(const char* handler) { return RpcOf<v1::Statistics>(handler); }

}  // namespace

// Each reads counters on a statistics worker (pool_: off gRPC's threads, at a lower CPU
// priority than intake): a few thousand keys at most (a year of days for each group asked
// for), answered in milliseconds (docs/BENCHMARKS.md).
grpc::ServerUnaryReactor* StatisticsService::GetVolumes(grpc::CallbackServerContext* context,
                                                        const v1::GetVolumesRequest* request,
                                                        v1::GetVolumesResponse* response) {
  static const triage::Rpc& kRpc = StatisticsRpc(__func__);
  return AdmitUnaryOnPool(
      *guard_, pool_, context, kRpc,
      [this, request, response](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        statistics_->GetVolumes(caller, *request, ReplyTo(reactor, kRpc, response));
      });
}

grpc::ServerUnaryReactor* StatisticsService::CompareVolumes(
    grpc::CallbackServerContext* context, const v1::CompareVolumesRequest* request,
    v1::CompareVolumesResponse* response) {
  static const triage::Rpc& kRpc = StatisticsRpc(__func__);
  return AdmitUnaryOnPool(
      *guard_, pool_, context, kRpc,
      [this, request, response](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        statistics_->CompareVolumes(caller, *request, ReplyTo(reactor, kRpc, response));
      });
}

grpc::ServerUnaryReactor* StatisticsService::DetectShifts(grpc::CallbackServerContext* context,
                                                          const v1::DetectShiftsRequest* request,
                                                          v1::DetectShiftsResponse* response) {
  static const triage::Rpc& kRpc = StatisticsRpc(__func__);
  return AdmitUnaryOnPool(
      *guard_, pool_, context, kRpc,
      [this, request, response](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        statistics_->DetectShifts(caller, *request, ReplyTo(reactor, kRpc, response));
      });
}

grpc::ServerUnaryReactor* StatisticsService::GetQueueStatistics(
    grpc::CallbackServerContext* context, const v1::GetQueueStatisticsRequest* request,
    v1::GetQueueStatisticsResponse* response) {
  static const triage::Rpc& kRpc = StatisticsRpc(__func__);
  return AdmitUnaryOnPool(
      *guard_, pool_, context, kRpc,
      [this, request, response](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        statistics_->GetQueueStatistics(caller, *request, ReplyTo(reactor, kRpc, response));
      });
}

}  // namespace safeguarding::services
