// gRPC handlers of safeguarding.triage.v1.Statistics: admitted by the authorisation table
// (monitor, supervisor), answered by triage::Statistics from the counters on a worker pool
// of their own (worker_pool.h).
#ifndef SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_
#define SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_

#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "services/access_guard.h"
#include "services/worker_pool.h"
#include "triage/statistics.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class StatisticsService final : public v1::Statistics::CallbackService {
 public:
  // Queries run on `pool`.
  StatisticsService(const AccessGuard* guard, const triage::Statistics* statistics,
                    WorkerPool* pool)
      : guard_(guard), statistics_(statistics), pool_(pool) {}

  grpc::ServerUnaryReactor* GetVolumes(grpc::CallbackServerContext* context,
                                       const v1::GetVolumesRequest* request,
                                       v1::GetVolumesResponse* response) override;
  grpc::ServerUnaryReactor* CompareVolumes(grpc::CallbackServerContext* context,
                                           const v1::CompareVolumesRequest* request,
                                           v1::CompareVolumesResponse* response) override;
  grpc::ServerUnaryReactor* DetectShifts(grpc::CallbackServerContext* context,
                                         const v1::DetectShiftsRequest* request,
                                         v1::DetectShiftsResponse* response) override;
  grpc::ServerUnaryReactor* GetQueueStatistics(grpc::CallbackServerContext* context,
                                               const v1::GetQueueStatisticsRequest* request,
                                               v1::GetQueueStatisticsResponse* response) override;

 private:
  const AccessGuard* const guard_;
  const triage::Statistics* const statistics_;
  WorkerPool* const pool_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_STATISTICS_SERVICE_H_
