// Validation of client input, as pure functions.
//
// Every rule is checked and every violation is reported, not only the first, so a front
// end can show the reporter all problems at once. A failed validation is INVALID_ARGUMENT
// carrying a google.rpc.BadRequest payload (see FieldViolations below); the services layer
// turns that into the standard gRPC error details.
#ifndef SAFEGUARDING_TRIAGE_VALIDATION_H_
#define SAFEGUARDING_TRIAGE_VALIDATION_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/timestamp.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"

namespace safeguarding::triage {

// Limits, shared with docs/API.md.
inline constexpr size_t kMaxRequestIdBytes = 128;
inline constexpr size_t kMaxDescriptionBytes = 20000;
inline constexpr size_t kMaxPlatformBytes = 100;
inline constexpr size_t kMaxRegionBytes = 64;
inline constexpr size_t kMaxContactNameBytes = 200;
inline constexpr size_t kMaxEmailBytes = 254;
inline constexpr size_t kMaxPhoneBytes = 32;
inline constexpr int kMaxChildAge = 17;

// Accumulates field violations; ToStatus() is OK when there are none.
class FieldViolations {
 public:
  void Add(std::string field, std::string description);
  bool empty() const { return violations_.empty(); }
  // INVALID_ARGUMENT whose message lists the fields and whose payload (type URL
  // kBadRequestTypeUrl) is a serialized google.rpc.BadRequest.
  [[nodiscard]] absl::Status ToStatus() const;
  // (field, description), in the order added.
  const std::vector<std::pair<std::string, std::string>>& violations() const { return violations_; }

 private:
  std::vector<std::pair<std::string, std::string>> violations_;
};

inline constexpr char kBadRequestTypeUrl[] = "type.googleapis.com/google.rpc.BadRequest";

// 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z, as google.protobuf.Timestamp
// defines; outside it the conversion to microseconds would overflow.
bool IsValidTimestamp(const google::protobuf::Timestamp& t);

// Structurally valid UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s);

// A free-text field (a note, a reason): valid UTF-8 of at most `max_bytes`, and not empty
// when `required`. Violations are added under `field`.
void ValidateText(absl::string_view field, absl::string_view text, size_t max_bytes, bool required,
                  FieldViolations& violations);

// A name the caller or a file chose (a queue), as an error message repeats it: quoted and
// C-escaped, so a line break or another control character in it cannot start a line of its
// own nor reach a terminal or a log as it is, and cut after 64 bytes with its length named.
std::string QuotedName(absl::string_view name);

// SubmitReport's request: request_id and every field of the report.
[[nodiscard]] absl::Status ValidateSubmitReport(const v1::SubmitReportRequest& request);

// Adds violations of `submission` under the field path prefix `prefix` (e.g. "report").
void ValidateSubmission(const v1::ReportSubmission& submission, absl::string_view prefix,
                        FieldViolations& violations);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_VALIDATION_H_
