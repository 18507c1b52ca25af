#include "storage/report_codec.h"

#include "absl/strings/str_cat.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

constexpr char kFormat = 0x01;

struct Parts {
  absl::string_view clear;
  absl::string_view sealed;
};

std::optional<Parts> Split(absl::string_view value) {
  if (value.empty() || value[0] != kFormat) return std::nullopt;
  value.remove_prefix(1);
  std::optional<uint32_t> n = GetFixed32BE(&value);
  if (!n || value.size() < *n) return std::nullopt;
  return Parts{value.substr(0, *n), value.substr(*n)};
}

// The report id and the clear part are authenticated with the secrets, so neither a
// sealed blob moved to another report nor an edited clear part (a lowered priority, a
// changed state) goes unnoticed.
std::string AssociatedData(const ReportId& id, absl::string_view clear) {
  return absl::StrCat(id.bytes(), clear);
}

}  // namespace

absl::StatusOr<std::string> SealReport(v1::Report clear, const ReportId& id, const KeyRing& keys) {
  v1::Report secrets;
  v1::ReportSubmission* submission = clear.mutable_submission();
  secrets.mutable_submission()->set_description(std::move(*submission->mutable_description()));
  submission->clear_description();
  if (submission->reporter().has_contact()) {
    secrets.mutable_submission()->mutable_reporter()->mutable_contact()->Swap(
        submission->mutable_reporter()->mutable_contact());
    submission->mutable_reporter()->clear_contact();
  }
  const std::string clear_bytes = clear.SerializeAsString();
  absl::StatusOr<std::string> sealed =
      keys.Seal(secrets.SerializeAsString(), AssociatedData(id, clear_bytes));
  if (!sealed.ok()) return sealed.status();
  std::string value;
  value.reserve(1 + 4 + clear_bytes.size() + sealed->size());
  value.push_back(kFormat);
  PutFixed32BE(&value, static_cast<uint32_t>(clear_bytes.size()));
  value.append(clear_bytes);
  value.append(*sealed);
  return value;
}

absl::StatusOr<v1::Report> OpenReport(absl::string_view value, const ReportId& id,
                                      const KeyRing& keys) {
  std::optional<Parts> parts = Split(value);
  v1::Report report;
  if (!parts ||
      !report.ParseFromArray(parts->clear.data(), static_cast<int>(parts->clear.size()))) {
    return absl::DataLossError(absl::StrCat("report ", id.ToString(), " is damaged"));
  }
  absl::StatusOr<std::string> secrets_bytes =
      keys.Open(parts->sealed, AssociatedData(id, parts->clear));
  if (!secrets_bytes.ok()) return secrets_bytes.status();
  v1::Report secrets;
  if (!secrets.ParseFromString(*secrets_bytes)) {
    return absl::DataLossError(absl::StrCat("report ", id.ToString(), " is damaged"));
  }
  report.MergeFrom(secrets);
  return report;
}

absl::StatusOr<std::string> SealWorkflow(const v1::Report& workflow, const ReportId& id,
                                         const KeyRing& keys) {
  const std::string bytes = workflow.SerializeAsString();
  absl::StatusOr<std::string> tag =
      keys.Seal("", absl::StrCat("workflow|", AssociatedData(id, bytes)));
  if (!tag.ok()) return tag.status();
  std::string value(1, kFormat);
  PutFixed32BE(&value, static_cast<uint32_t>(bytes.size()));
  value.append(bytes);
  value.append(*tag);
  return value;
}

absl::StatusOr<v1::Report> OpenWorkflow(absl::string_view value, const ReportId& id,
                                        const KeyRing& keys) {
  std::optional<Parts> parts = Split(value);
  v1::Report workflow;
  if (!parts ||
      !workflow.ParseFromArray(parts->clear.data(), static_cast<int>(parts->clear.size()))) {
    return absl::DataLossError(absl::StrCat("workflow record of ", id.ToString(), " is damaged"));
  }
  absl::StatusOr<std::string> opened =
      keys.Open(parts->sealed, absl::StrCat("workflow|", AssociatedData(id, parts->clear)));
  if (!opened.ok()) {
    if (opened.status().code() == absl::StatusCode::kFailedPrecondition) return opened.status();
    return absl::DataLossError(
        absl::StrCat("workflow record of ", id.ToString(), " does not verify"));
  }
  return workflow;
}

std::optional<uint32_t> SealedWorkflowKeyId(absl::string_view value) {
  std::optional<Parts> parts = Split(value);
  if (!parts) return std::nullopt;
  return KeyRing::SealedKeyId(parts->sealed);
}

std::optional<uint32_t> SealedReportKeyId(absl::string_view value) {
  std::optional<Parts> parts = Split(value);
  if (!parts) return std::nullopt;
  return KeyRing::SealedKeyId(parts->sealed);
}

}  // namespace safeguarding::storage
