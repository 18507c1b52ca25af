#include "services/statistics_service.h"

#include "services/unary.h"

namespace safeguarding::services {

grpc::ServerUnaryReactor* StatisticsService::GetVolumes(grpc::CallbackServerContext* context,
                                                        const v1::GetVolumesRequest*,
                                                        v1::GetVolumesResponse*) {
  return NotYetImplemented(*guard_, context, RpcOf<v1::Statistics>(__func__));
}

grpc::ServerUnaryReactor* StatisticsService::CompareVolumes(grpc::CallbackServerContext* context,
                                                            const v1::CompareVolumesRequest*,
                                                            v1::CompareVolumesResponse*) {
  return NotYetImplemented(*guard_, context, RpcOf<v1::Statistics>(__func__));
}

grpc::ServerUnaryReactor* StatisticsService::GetQueueStatistics(
    grpc::CallbackServerContext* context, const v1::GetQueueStatisticsRequest*,
    v1::GetQueueStatisticsResponse*) {
  return NotYetImplemented(*guard_, context, RpcOf<v1::Statistics>(__func__));
}

}  // namespace safeguarding::services
