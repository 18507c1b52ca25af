// How a Report is stored: the reporter's words and contact details encrypted, the rest in
// the clear so the store can index and count without the key.
//
// Value layout in the reports family:
//   0x01 | u32 BE length n | Report without secrets (n bytes) | sealed secrets
// where "secrets" is a Report holding only submission.description and
// submission.reporter.contact, sealed with AES-256-GCM under the key ring's current key,
// with the 16-byte report id and the clear part as associated data (so a sealed blob moved
// to another report, or an edited clear part, fails to open). See key_ring.h for the sealed
// format and key ids.
#ifndef SAFEGUARDING_STORAGE_REPORT_CODEC_H_
#define SAFEGUARDING_STORAGE_REPORT_CODEC_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/key_ring.h"
#include "storage/report_id.h"

namespace safeguarding::storage {

namespace v1 = ::safeguarding::triage::v1;

// The stored form of `report`: everything but the description and the reporter's contact
// details in the clear (authenticated), those two sealed with the ring's current key. Taken
// by value: a caller done with the report moves it in and nothing is copied.
[[nodiscard]] absl::StatusOr<std::string> SealReport(v1::Report report, const ReportId& id,
                                                     const KeyRing& keys);

// DATA_LOSS for a damaged record; FAILED_PRECONDITION when its key is not in the ring.
[[nodiscard]] absl::StatusOr<v1::Report> OpenReport(absl::string_view value, const ReportId& id,
                                                    const KeyRing& keys);

// Key id the record's secrets are sealed with, nullopt if the record is malformed.
std::optional<uint32_t> SealedReportKeyId(absl::string_view value);

// A report's workflow record (its state, current triage, claim, outcome; see
// ReportRecords), in the clear but authenticated: 0x01 | u32 BE n | the record (n bytes) |
// a seal of nothing with the report id and the record as associated data, so an edited
// state, priority or outcome fails to open (DATA_LOSS), as an edited report would.
[[nodiscard]] absl::StatusOr<std::string> SealWorkflow(const v1::Report& workflow,
                                                       const ReportId& id, const KeyRing& keys);
[[nodiscard]] absl::StatusOr<v1::Report> OpenWorkflow(absl::string_view value, const ReportId& id,
                                                      const KeyRing& keys);
std::optional<uint32_t> SealedWorkflowKeyId(absl::string_view value);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_REPORT_CODEC_H_
