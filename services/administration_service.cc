#include "services/administration_service.h"

#include "absl/strings/str_cat.h"
#include "services/unary.h"

namespace safeguarding::services {
namespace {

// The callback that finishes `reactor` with a domain answer.
template <typename T>
absl::AnyInvocable<void(absl::StatusOr<T>) &&> Reply(grpc::ServerUnaryReactor* reactor,
                                                     const std::string& method, T* response) {
  return [reactor, &method, response](absl::StatusOr<T> result) {
    FinishUnary(reactor, method, std::move(result), response);
  };
}

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
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        admin_->GetAuditLog(caller, *request,
                            Reply<v1::GetAuditLogResponse>(reactor, kMethod, response));
      });
}

grpc::ServerUnaryReactor* AdministrationService::VerifyAuditLog(
    grpc::CallbackServerContext* context, const v1::VerifyAuditLogRequest* request,
    v1::VerifyAuditLogResponse* response) {
  static const std::string kMethod = Method("VerifyAuditLog");
  // Reads the whole trail on the handler thread: a rare admin call (docs/OPERATIONS.md).
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        admin_->VerifyAuditLog(caller, *request,
                               Reply<v1::VerifyAuditLogResponse>(reactor, kMethod, response));
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
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        admin_->ListEncryptionKeys(
            caller, Reply<v1::ListEncryptionKeysResponse>(reactor, kMethod, response));
      });
}

grpc::ServerUnaryReactor* AdministrationService::RotateEncryptionKey(
    grpc::CallbackServerContext* context, const v1::RotateEncryptionKeyRequest*,
    v1::RotateEncryptionKeyResponse* response) {
  static const std::string kMethod = Method("RotateEncryptionKey");
  return AdmitUnary(
      *guard_, context, kMethod, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        admin_->RotateEncryptionKey(
            caller, Reply<v1::RotateEncryptionKeyResponse>(reactor, kMethod, response));
      });
}

}  // namespace safeguarding::services
