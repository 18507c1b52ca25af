// gRPC handlers of safeguarding.triage.v1.Statistics: admitted by the authorisation table
// (monitor, supervisor), answered UNIMPLEMENTED until the statistics issue builds them.
#ifndef SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_
#define SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_

#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "services/access_guard.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class StatisticsService final : public v1::Statistics::CallbackService {
 public:
  explicit StatisticsService(const AccessGuard* guard) : guard_(guard) {}

  grpc::ServerUnaryReactor* GetVolumes(grpc::CallbackServerContext* context,
                                       const v1::GetVolumesRequest*,
                                       v1::GetVolumesResponse*) override;
  grpc::ServerUnaryReactor* CompareVolumes(grpc::CallbackServerContext* context,
                                           const v1::CompareVolumesRequest*,
                                           v1::CompareVolumesResponse*) override;
  grpc::ServerUnaryReactor* GetQueueStatistics(grpc::CallbackServerContext* context,
                                               const v1::GetQueueStatisticsRequest*,
                                               v1::GetQueueStatisticsResponse*) override;

 private:
  const AccessGuard* const guard_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_
