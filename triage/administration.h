// Administration: the domain of the Administration service: reading and verifying the
// audit trail, and the data keys (list, rotate). Every call is audited, and answers only
// once its own audit entry is durable.
//
// Thread-safe. The store must outlive it.
#ifndef SAFEGUARDING_TRIAGE_ADMINISTRATION_H_
#define SAFEGUARDING_TRIAGE_ADMINISTRATION_H_

#include <functional>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "storage/report_store.h"
#include "triage/caller.h"

namespace safeguarding::triage {

class Administration {
 public:
  template <typename T>
  using Done = absl::AnyInvocable<void(absl::StatusOr<T>) &&>;

  // `on_verified`, when set, is told each verification's verdict (intact or not).
  explicit Administration(storage::ReportStore* store,
                          std::function<void(bool intact)> on_verified = nullptr)
      : store_(store), on_verified_(std::move(on_verified)) {}

  // INVALID_ARGUMENT for a bad page size, time range or page token.
  void GetAuditLog(const Caller& caller, const v1::GetAuditLogRequest& request,
                   Done<v1::GetAuditLogResponse> done) const;
  // INVALID_ARGUMENT naming a malformed anchor.
  void VerifyAuditLog(const Caller& caller, const v1::VerifyAuditLogRequest& request,
                      Done<v1::VerifyAuditLogResponse> done) const;
  // The data keys of the key file and which may be retired.
  void ListEncryptionKeys(const Caller& caller, Done<v1::ListEncryptionKeysResponse> done) const;
  // A new current key; re-encryption goes on in the background. FAILED_PRECONDITION while a
  // previous rotation is still re-encrypting.
  void RotateEncryptionKey(const Caller& caller, Done<v1::RotateEncryptionKeyResponse> done) const;

 private:
  storage::ReportStore* const store_;
  const std::function<void(bool intact)> on_verified_;
};

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_ADMINISTRATION_H_
