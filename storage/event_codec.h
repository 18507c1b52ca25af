// How a ReportEvent is stored in the events family (key: report id | sequence, see
// key_encoding.h):
//   without text: the ReportEvent's bytes, as every release has written them;
//   with text:    0x01 | u32 BE length n | the event without its text (n bytes) | sealed text
// The text (a note, a decision's note, the reason for a release or a change of priority) is
// sealed with AES-256-GCM under the key ring's current key, with the event key and the
// clear part as associated data, like a report's secrets (report_codec.h). A serialized
// ReportEvent never begins with 0x01 (that would be field number 0), so both forms are
// told apart by their first byte.
#ifndef SAFEGUARDING_STORAGE_EVENT_CODEC_H_
#define SAFEGUARDING_STORAGE_EVENT_CODEC_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "safeguarding/triage/v1/report.pb.h"
#include "storage/key_ring.h"

namespace safeguarding::storage {

[[nodiscard]] absl::StatusOr<std::string> SealEvent(const triage::v1::ReportEvent& event,
                                                    absl::string_view event_key,
                                                    const KeyRing& keys);

// DATA_LOSS for a damaged record; FAILED_PRECONDITION when its key is not in the ring.
[[nodiscard]] absl::StatusOr<triage::v1::ReportEvent> OpenEvent(absl::string_view value,
                                                                absl::string_view event_key,
                                                                const KeyRing& keys);

// The key id an event's text is sealed with; nullopt when nothing is sealed (or the record
// is malformed).
std::optional<uint32_t> SealedEventKeyId(absl::string_view value);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_EVENT_CODEC_H_
