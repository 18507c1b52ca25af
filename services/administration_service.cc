#include "services/administration_service.h"

#include "absl/strings/str_cat.h"
#include "services/unary.h"
#include "storage/key_ring.h"
#include "triage/audit.h"

namespace safeguarding::services {
namespace {

std::string Method(absl::string_view name) {
  return absl::StrCat("/safeguarding.triage.v1.Administration/", name);
}

}  // namespace

grpc::ServerUnaryReactor* AdministrationService::ImportReports(grpc::CallbackServerContext* context,
                                                               const v1::ImportReportsRequest*,
                                                               v1::ImportReportsResponse*) {
  return NotYetImplemented(*guard_, context, Method("ImportReports"));
}

grpc::ServerUnaryReactor* AdministrationService::GetAuditLog(grpc::CallbackServerContext* context,
                                                             const v1::GetAuditLogRequest* request,
                                                             v1::GetAuditLogResponse* response) {
  static const std::string kMethod = Method("GetAuditLog");
  return AdmitUnary(*guard_, context, kMethod,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      triage::FinishAudited<v1::GetAuditLogResponse>(
                          guard_->store(), caller, triage::AuditReportId(request->report_id()),
                          triage::ReadAuditLog(guard_->store(), *request),
                          [reactor, response](absl::StatusOr<v1::GetAuditLogResponse> result) {
                            FinishUnary(reactor, kMethod, std::move(result), response);
                          });
                    });
}

grpc::ServerUnaryReactor* AdministrationService::VerifyAuditLog(
    grpc::CallbackServerContext* context, const v1::VerifyAuditLogRequest* request,
    v1::VerifyAuditLogResponse* response) {
  static const std::string kMethod = Method("VerifyAuditLog");
  // Reads the whole trail: runs on the handler thread, which is acceptable for a rare
  // admin call on today's trail sizes (see docs/OPERATIONS.md).
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        triage::FinishAudited<v1::VerifyAuditLogResponse>(
            guard_->store(), caller, "", triage::VerifyAuditLog(guard_->store(), *request),
            [reactor, response](absl::StatusOr<v1::VerifyAuditLogResponse> r) {
              FinishUnary(reactor, kMethod, std::move(r), response);
            });
      });
}

grpc::ServerUnaryReactor* AdministrationService::CreateBackup(grpc::CallbackServerContext* context,
                                                              const v1::CreateBackupRequest*,
                                                              v1::CreateBackupResponse*) {
  return NotYetImplemented(*guard_, context, Method("CreateBackup"));
}

grpc::ServerUnaryReactor* AdministrationService::PurgeExpiredReports(
    grpc::CallbackServerContext* context, const v1::PurgeExpiredReportsRequest*,
    v1::PurgeExpiredReportsResponse*) {
  return NotYetImplemented(*guard_, context, Method("PurgeExpiredReports"));
}

grpc::ServerUnaryReactor* AdministrationService::ListEncryptionKeys(
    grpc::CallbackServerContext* context, const v1::ListEncryptionKeysRequest*,
    v1::ListEncryptionKeysResponse* response) {
  static const std::string kMethod = Method("ListEncryptionKeys");
  return AdmitUnary(*guard_, context, kMethod,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      triage::FinishAudited<v1::ListEncryptionKeysResponse>(
                          guard_->store(), caller, "", triage::ListEncryptionKeys(guard_->store()),
                          [reactor, response](absl::StatusOr<v1::ListEncryptionKeysResponse> r) {
                            FinishUnary(reactor, kMethod, std::move(r), response);
                          });
                    });
}

grpc::ServerUnaryReactor* AdministrationService::RotateEncryptionKey(
    grpc::CallbackServerContext* context, const v1::RotateEncryptionKeyRequest*,
    v1::RotateEncryptionKeyResponse* response) {
  static const std::string kMethod = Method("RotateEncryptionKey");
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        storage::ReportStore& store = guard_->store();
        store.keys().Rotate([&store, caller = std::move(caller), reactor,
                             response](absl::StatusOr<storage::KeyRotation> rotation) {
          absl::StatusOr<v1::RotateEncryptionKeyResponse> result;
          if (rotation.ok()) {
            v1::RotateEncryptionKeyResponse r;
            r.set_key_id(storage::KeyIdHex(rotation->new_key_id));
            r.set_records_to_reencrypt(rotation->records_to_reencrypt);
            result = std::move(r);
          } else {
            result = rotation.status();
          }
          triage::FinishAudited<v1::RotateEncryptionKeyResponse>(
              store, caller, "", std::move(result),
              [reactor, response](absl::StatusOr<v1::RotateEncryptionKeyResponse> r) {
                FinishUnary(reactor, kMethod, std::move(r), response);
              });
        });
      });
}

}  // namespace safeguarding::services
