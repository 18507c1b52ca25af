#include "triage/administration.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "storage/key_ring.h"
#include "triage/audit.h"
#include "triage/validation.h"

namespace safeguarding::triage {

using google::protobuf::util::TimeUtil;

namespace {

[[nodiscard]] absl::StatusOr<v1::GetAuditLogResponse> ReadAuditLog(
    const storage::ReportStore& store, const v1::GetAuditLogRequest& request) {
  FieldViolations v;
  if (request.page_size() < 0 || request.page_size() > 1000) {
    v.Add("page_size", "must be between 0 (server default, 100) and 1000");
  }
  if (request.has_start_time() && !IsValidTimestamp(request.start_time())) {
    v.Add("start_time", "is not a valid timestamp");
  }
  if (request.has_end_time() && !IsValidTimestamp(request.end_time())) {
    v.Add("end_time", "is not a valid timestamp");
  }
  if (!v.empty()) return v.ToStatus();
  if (request.has_start_time() && request.has_end_time() &&
      TimeUtil::TimestampToMicroseconds(request.start_time()) >=
          TimeUtil::TimestampToMicroseconds(request.end_time())) {
    v.Add("end_time", "must be after start_time");
  }
  if (request.report_id().size() > 64) v.Add("report_id", "is too long");
  if (request.principal().size() > 128) v.Add("principal", "is too long");
  if (!v.empty()) return v.ToStatus();

  storage::AuditQuery query;
  query.report_id = AuditReportId(request.report_id());
  query.principal = request.principal();
  if (request.has_start_time()) {
    query.start = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.start_time()));
  }
  if (request.has_end_time()) {
    query.end = absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(request.end_time()));
  }
  query.page_size = request.page_size() == 0 ? 100 : static_cast<size_t>(request.page_size());
  query.page_token = request.page_token();
  absl::StatusOr<storage::AuditPage> page = store.audit().Read(query);
  if (!page.ok()) return page.status();
  v1::GetAuditLogResponse response;
  for (auto& entry : page->entries) *response.add_entries() = std::move(entry);
  response.set_next_page_token(page->next_page_token);
  return response;
}

[[nodiscard]] absl::StatusOr<v1::VerifyAuditLogResponse> VerifyAuditLog(
    const storage::ReportStore& store, const v1::VerifyAuditLogRequest& request) {
  constexpr int kMaxAnchors = 1000;
  FieldViolations v;
  if (request.anchors_size() > kMaxAnchors) {
    v.Add("anchors", absl::StrCat("at most ", kMaxAnchors, " anchors"));
  }
  std::vector<storage::AuditAnchorPoint> anchors;
  for (int i = 0; i < request.anchors_size() && i < kMaxAnchors; ++i) {
    const v1::AuditAnchor& anchor = request.anchors(i);
    if (anchor.sequence() == 0)
      v.Add(absl::StrCat("anchors[", i, "].sequence"), "must be 1 or more");
    if (anchor.hash().size() != storage::kAuditHashBytes) {
      v.Add(absl::StrCat("anchors[", i, "].hash"), "must be 32 bytes");
    }
    anchors.push_back(storage::AuditAnchorPoint{anchor.sequence(), anchor.hash()});
  }
  if (!v.empty()) return v.ToStatus();
  absl::StatusOr<storage::AuditVerification> result = store.audit().Verify(std::move(anchors));
  if (!result.ok()) return result.status();
  v1::VerifyAuditLogResponse response;
  response.set_intact(result->intact);
  response.set_entries_checked(result->entries_checked);
  response.set_first_bad_sequence(result->first_bad_sequence);
  response.set_problem(result->problem);
  response.mutable_head()->set_sequence(result->head.sequence);
  response.mutable_head()->set_hash(result->head.hash);
  response.set_anchors_checked(static_cast<uint32_t>(result->anchors_checked));
  return response;
}

v1::ListEncryptionKeysResponse ListEncryptionKeys(const storage::ReportStore& store) {
  v1::ListEncryptionKeysResponse response;
  for (const storage::DataKeyStatus& key : store.keys().Status()) {
    v1::EncryptionKeyStatus* status = response.add_keys();
    status->set_key_id(storage::KeyIdHex(key.id));
    status->set_current(key.current);
    status->set_in_use(key.in_use);
  }
  response.set_reencrypting(store.keys().reencrypting());
  return response;
}

}  // namespace

void Administration::GetAuditLog(const Caller& caller, const v1::GetAuditLogRequest& request,
                                 Done<v1::GetAuditLogResponse> done) const {
  FinishAudited(store_->audit(), caller, AuditReportId(request.report_id()),
                ReadAuditLog(*store_, request), std::move(done));
}

void Administration::VerifyAuditLog(const Caller& caller, const v1::VerifyAuditLogRequest& request,
                                    Done<v1::VerifyAuditLogResponse> done) const {
  absl::StatusOr<v1::VerifyAuditLogResponse> verified = triage::VerifyAuditLog(*store_, request);
  if (verified.ok() && on_verified_) on_verified_(verified->intact());
  FinishAudited(store_->audit(), caller, "", std::move(verified), std::move(done));
}

void Administration::ListEncryptionKeys(const Caller& caller,
                                        Done<v1::ListEncryptionKeysResponse> done) const {
  FinishAudited<v1::ListEncryptionKeysResponse>(
      store_->audit(), caller, "", triage::ListEncryptionKeys(*store_), std::move(done));
}

void Administration::RotateEncryptionKey(const Caller& caller,
                                         Done<v1::RotateEncryptionKeyResponse> done) const {
  store_->keys().Rotate([store = store_, caller, done = std::move(done)](
                            absl::StatusOr<storage::KeyRotation> rotation) mutable {
    absl::StatusOr<v1::RotateEncryptionKeyResponse> result;
    if (rotation.ok()) {
      v1::RotateEncryptionKeyResponse response;
      response.set_key_id(storage::KeyIdHex(rotation->new_key_id));
      response.set_records_to_reencrypt(rotation->records_to_reencrypt);
      result = std::move(response);
    } else {
      result = rotation.status();
    }
    FinishAudited(store->audit(), caller, "", std::move(result), std::move(done));
  });
}

}  // namespace safeguarding::triage
