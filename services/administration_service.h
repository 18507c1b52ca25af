// gRPC handlers of safeguarding.triage.v1.Administration.
#ifndef SAFEGUARDING_SERVICES_ADMINISTRATION_SERVICE_H_
#define SAFEGUARDING_SERVICES_ADMINISTRATION_SERVICE_H_

#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "services/access_guard.h"
#include "services/worker_pool.h"
#include "triage/administration.h"
#include "triage/backups.h"
#include "triage/import.h"
#include "triage/recount.h"
#include "triage/retention.h"

namespace safeguarding::services {

namespace v1 = ::safeguarding::triage::v1;

class AdministrationService final : public v1::Administration::CallbackService {
 public:
  AdministrationService(const AccessGuard* guard, const triage::Administration* admin,
                        triage::Importer* importer, triage::Recount* recount,
                        triage::Backups* backups, triage::Retention* retention,
                        WorkerPool* bulk_pool)
      : guard_(guard),
        bulk_pool_(bulk_pool),
        admin_(admin),
        importer_(importer),
        recount_(recount),
        backups_(backups),
        retention_(retention) {}

  grpc::ServerUnaryReactor* ImportReports(grpc::CallbackServerContext* context,
                                          const v1::ImportReportsRequest* request,
                                          v1::ImportReportsResponse* response) override;
  grpc::ServerUnaryReactor* GetAuditLog(grpc::CallbackServerContext* context,
                                        const v1::GetAuditLogRequest* request,
                                        v1::GetAuditLogResponse* response) override;
  grpc::ServerUnaryReactor* VerifyAuditLog(grpc::CallbackServerContext* context,
                                           const v1::VerifyAuditLogRequest* request,
                                           v1::VerifyAuditLogResponse* response) override;
  grpc::ServerUnaryReactor* CreateBackup(grpc::CallbackServerContext* context,
                                         const v1::CreateBackupRequest*,
                                         v1::CreateBackupResponse* response) override;
  grpc::ServerUnaryReactor* ListBackups(grpc::CallbackServerContext* context,
                                        const v1::ListBackupsRequest*,
                                        v1::ListBackupsResponse* response) override;
  grpc::ServerUnaryReactor* VerifyBackup(grpc::CallbackServerContext* context,
                                         const v1::VerifyBackupRequest* request,
                                         v1::VerifyBackupResponse* response) override;
  grpc::ServerUnaryReactor* PurgeExpiredReports(grpc::CallbackServerContext* context,
                                                const v1::PurgeExpiredReportsRequest* request,
                                                v1::PurgeExpiredReportsResponse* response) override;
  grpc::ServerUnaryReactor* ListEncryptionKeys(grpc::CallbackServerContext* context,
                                               const v1::ListEncryptionKeysRequest*,
                                               v1::ListEncryptionKeysResponse* response) override;
  grpc::ServerUnaryReactor* RecountStatistics(grpc::CallbackServerContext* context,
                                              const v1::RecountStatisticsRequest* request,
                                              v1::RecountStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RotateEncryptionKey(grpc::CallbackServerContext* context,
                                                const v1::RotateEncryptionKeyRequest*,
                                                v1::RotateEncryptionKeyResponse*) override;

 private:
  const AccessGuard* const guard_;
  WorkerPool* const bulk_pool_;  // imports run there
  const triage::Administration* const admin_;
  triage::Importer* const importer_;
  triage::Recount* const recount_;
  triage::Backups* const backups_;
  triage::Retention* const retention_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_ADMINISTRATION_SERVICE_H_
