#include "services/administration_service.h"

#include "services/log.h"
#include "services/unary.h"

namespace safeguarding::services {
namespace {

const triage::Rpc& AdminRpc(const char* handler) { return RpcOf<v1::Administration>(handler); }

}  // namespace

grpc::ServerUnaryReactor* AdministrationService::ImportReports(
    grpc::CallbackServerContext* context, const v1::ImportReportsRequest* request,
    v1::ImportReportsResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Validation, sealing and the source-id lookups run on the bulk worker (off gRPC's
  // threads, at a lower CPU priority than intake); the write is one synced batch on the
  // committer, answered from its callback.
  return AdmitUnaryOnPool(
      *guard_, bulk_pool_, context, kRpc,
      [this, request, response](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        importer_->ImportReports(caller, *request, ReplyTo(reactor, kRpc, response));
      });
}

grpc::ServerUnaryReactor* AdministrationService::GetAuditLog(grpc::CallbackServerContext* context,
                                                             const v1::GetAuditLogRequest* request,
                                                             v1::GetAuditLogResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      admin_->GetAuditLog(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::VerifyAuditLog(
    grpc::CallbackServerContext* context, const v1::VerifyAuditLogRequest* request,
    v1::VerifyAuditLogResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Reads the whole trail on the handler thread: a rare admin call (docs/OPERATIONS.md).
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      admin_->VerifyAuditLog(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::CreateBackup(grpc::CallbackServerContext* context,
                                                              const v1::CreateBackupRequest*,
                                                              v1::CreateBackupResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Runs on the backups' own thread while the server goes on serving; answered when the
  // backup is complete (minutes for a large store). A cancelled call does not stop it.
  return AdmitUnary(
      *guard_, context, kRpc, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        auto reply = ReplyTo(reactor, kRpc, response);
        backups_->Create(caller, [reply = std::move(reply), principal = caller.principal](
                                     absl::StatusOr<v1::CreateBackupResponse> r) mutable {
          if (r.ok()) {
            Log(Severity::kInfo, "backup %s by %s: %d files, %d MB; %d older deleted",
                r->backup_id(), principal, static_cast<int>(r->backup().files()),
                static_cast<int>(r->backup().size_bytes() >> 20),
                static_cast<int>(r->backups_deleted()));
          } else {
            Log(Severity::kError, "backup by %s failed: %s", principal, r.status().ToString());
          }
          std::move(reply)(std::move(r));
        });
      });
}

grpc::ServerUnaryReactor* AdministrationService::ListBackups(grpc::CallbackServerContext* context,
                                                             const v1::ListBackupsRequest*,
                                                             v1::ListBackupsResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      backups_->List(caller, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::VerifyBackup(
    grpc::CallbackServerContext* context, const v1::VerifyBackupRequest* request,
    v1::VerifyBackupResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Re-reads the backup's files on the backups' thread.
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      backups_->Verify(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::RecountStatistics(
    grpc::CallbackServerContext* context, const v1::RecountStatisticsRequest* request,
    v1::RecountStatisticsResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Reads every report on the handler thread: a rare admin call, one at a time
  // (docs/OPERATIONS.md).
  return AdmitUnary(
      *guard_, context, kRpc, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        auto reply = ReplyTo(reactor, kRpc, response);
        recount_->RecountStatistics(
            caller, *request, [context] { return context->IsCancelled(); },
            [reply = std::move(reply), principal = caller.principal](
                absl::StatusOr<v1::RecountStatisticsResponse> r) mutable {
              if (r.ok()) {
                Log(r->differences() == 0 ? Severity::kInfo : Severity::kWarning,
                    "statistics recount by %s: %d reports, %d counters, %d differences", principal,
                    static_cast<int>(r->reports_scanned()),
                    static_cast<int>(r->counters_compared()), static_cast<int>(r->differences()));
              }
              std::move(reply)(std::move(r));
            });
      });
}

grpc::ServerUnaryReactor* AdministrationService::PurgeExpiredReports(
    grpc::CallbackServerContext* context, const v1::PurgeExpiredReportsRequest* request,
    v1::PurgeExpiredReportsResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  // Runs on the retention's own thread, a chunk of reports per group commit, while the
  // server goes on serving; answered when the purge (and its compaction) is done.
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      retention_->Purge(caller, *request, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::ListEncryptionKeys(
    grpc::CallbackServerContext* context, const v1::ListEncryptionKeysRequest*,
    v1::ListEncryptionKeysResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  return AdmitUnary(*guard_, context, kRpc,
                    [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
                      admin_->ListEncryptionKeys(caller, ReplyTo(reactor, kRpc, response));
                    });
}

grpc::ServerUnaryReactor* AdministrationService::RotateEncryptionKey(
    grpc::CallbackServerContext* context, const v1::RotateEncryptionKeyRequest*,
    v1::RotateEncryptionKeyResponse* response) {
  static const triage::Rpc& kRpc = AdminRpc(__func__);
  return AdmitUnary(
      *guard_, context, kRpc, [&](grpc::ServerUnaryReactor* reactor, triage::Caller caller) {
        auto reply = ReplyTo(reactor, kRpc, response);
        admin_->RotateEncryptionKey(
            caller, [reply = std::move(reply), principal = caller.principal](
                        absl::StatusOr<v1::RotateEncryptionKeyResponse> r) mutable {
              if (r.ok()) {
                Log(Severity::kInfo,
                    "data key rotated by %s: key %s is current; %d records to "
                    "re-encrypt in the background",
                    principal, r->key_id(), static_cast<int>(r->records_to_reencrypt()));
              }
              std::move(reply)(std::move(r));
            });
      });
}

}  // namespace safeguarding::services
