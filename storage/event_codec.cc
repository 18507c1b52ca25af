#include "storage/event_codec.h"

#include "absl/strings/str_cat.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

namespace v1 = ::safeguarding::triage::v1;

constexpr char kSealedFormat = 0x01;

struct Parts {
  absl::string_view clear;
  absl::string_view sealed;
};

std::optional<Parts> Split(absl::string_view value) {
  if (value.empty() || value[0] != kSealedFormat) return std::nullopt;
  value.remove_prefix(1);
  std::optional<uint32_t> n = GetFixed32BE(&value);
  if (!n || value.size() < *n) return std::nullopt;
  return Parts{value.substr(0, *n), value.substr(*n)};
}

std::string AssociatedData(absl::string_view event_key, absl::string_view clear) {
  return absl::StrCat("event|", event_key, clear);
}

[[nodiscard]] absl::Status Damaged() { return absl::DataLossError("a report event is damaged"); }

}  // namespace

absl::StatusOr<std::string> SealEvent(const v1::ReportEvent& event, absl::string_view event_key,
                                      const KeyRing& keys) {
  if (event.text().empty()) return event.SerializeAsString();
  v1::ReportEvent clear = event;
  clear.clear_text();
  const std::string clear_bytes = clear.SerializeAsString();
  absl::StatusOr<std::string> sealed =
      keys.Seal(event.text(), AssociatedData(event_key, clear_bytes));
  if (!sealed.ok()) return sealed.status();
  std::string value(1, kSealedFormat);
  PutFixed32BE(&value, static_cast<uint32_t>(clear_bytes.size()));
  value.append(clear_bytes);
  value.append(*sealed);
  return value;
}

absl::StatusOr<v1::ReportEvent> OpenEvent(absl::string_view value, absl::string_view event_key,
                                          const KeyRing& keys) {
  v1::ReportEvent event;
  if (value.empty() || value[0] != kSealedFormat) {
    // A text is always sealed: a plain event carrying one was written outside the server.
    if (!event.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        !event.text().empty()) {
      return Damaged();
    }
    return event;
  }
  std::optional<Parts> parts = Split(value);
  if (!parts || !event.ParseFromArray(parts->clear.data(), static_cast<int>(parts->clear.size()))) {
    return Damaged();
  }
  absl::StatusOr<std::string> text =
      keys.Open(parts->sealed, AssociatedData(event_key, parts->clear));
  if (!text.ok()) return text.status();
  event.set_text(*std::move(text));
  return event;
}

std::optional<uint32_t> SealedEventKeyId(absl::string_view value) {
  std::optional<Parts> parts = Split(value);
  if (!parts) return std::nullopt;
  return KeyRing::SealedKeyId(parts->sealed);
}

}  // namespace safeguarding::storage
