// ReportId: the server-assigned identity of a report.
//
// 16 bytes: the received time in microseconds (8 bytes, big-endian, sign-flipped) followed
// by 8 bytes from a cryptographic random generator. So ids sort by arrival time, are unique
// without coordination, and cannot be guessed by counting (64 unpredictable bits even when
// the time is known). Shown to people as 26 characters of Crockford base32
// (0-9, A-Z without I, L, O, U); parsing accepts lower case too.
//
// Value type; thread-compatible.
#ifndef SAFEGUARDING_STORAGE_REPORT_ID_H_
#define SAFEGUARDING_STORAGE_REPORT_ID_H_

#include <array>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace safeguarding::storage {

class ReportId {
 public:
  static constexpr size_t kBytes = 16;
  static constexpr size_t kTextLength = 26;

  ReportId() = default;  // all zero bytes

  // A new id for a report received at `received`.
  static ReportId Generate(absl::Time received);
  // nullopt unless `bytes` is exactly kBytes long.
  static std::optional<ReportId> FromBytes(absl::string_view bytes);
  // nullopt unless `text` is a well-formed 26-character id.
  static std::optional<ReportId> Parse(absl::string_view text);

  // The 16 bytes (held inline: an id costs no allocation to copy).
  absl::string_view bytes() const { return absl::string_view(bytes_.data(), bytes_.size()); }
  std::string ToString() const;
  // The time the id was generated for.
  absl::Time time() const;

  friend bool operator==(const ReportId& a, const ReportId& b) { return a.bytes_ == b.bytes_; }
  // Byte order (unsigned, as std::string compared them), so ids sort by arrival.
  friend bool operator<(const ReportId& a, const ReportId& b) {
    return std::memcmp(a.bytes_.data(), b.bytes_.data(), kBytes) < 0;
  }
  template <typename H>
  friend H AbslHashValue(H h, const ReportId& id) {
    return H::combine(std::move(h), id.bytes());
  }

 private:
  explicit ReportId(absl::string_view bytes) { std::memcpy(bytes_.data(), bytes.data(), kBytes); }
  std::array<char, kBytes> bytes_ = {};
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_REPORT_ID_H_
