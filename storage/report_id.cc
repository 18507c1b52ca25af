#include "storage/report_id.h"

#include <openssl/rand.h>

#include <array>

#include "absl/base/internal/raw_logging.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Value of a base32 digit, or -1.
int DigitValue(char c) {
  if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  for (int i = 0; i < 32; ++i) {
    if (kAlphabet[i] == c) return i;
  }
  return -1;
}

}  // namespace

ReportId ReportId::Generate(absl::Time received) {
  std::string bytes;
  bytes.reserve(kBytes);
  PutFixed64BE(&bytes, OrderedFromMicros(absl::ToUnixMicros(received)));
  std::array<unsigned char, 8> random;
  // RAND_bytes only fails if the OS entropy source is broken; ids must never be guessable,
  // so that is fatal rather than a silent fallback.
  ABSL_RAW_CHECK(RAND_bytes(random.data(), random.size()) == 1, "RAND_bytes failed");
  bytes.append(reinterpret_cast<const char*>(random.data()), random.size());
  return ReportId(std::move(bytes));
}

std::optional<ReportId> ReportId::FromBytes(absl::string_view bytes) {
  if (bytes.size() != kBytes) return std::nullopt;
  return ReportId(bytes);
}

std::string ReportId::ToString() const {
  // 128 bits as 26 five-bit digits: the first digit holds only the top 3 bits.
  std::string out(kTextLength, '0');
  unsigned __int128 v = 0;
  for (char c : bytes_) v = (v << 8) | static_cast<unsigned char>(c);
  for (int i = kTextLength - 1; i >= 0; --i) {
    out[i] = kAlphabet[static_cast<int>(v & 31)];
    v >>= 5;
  }
  return out;
}

std::optional<ReportId> ReportId::Parse(absl::string_view text) {
  if (text.size() != kTextLength) return std::nullopt;
  unsigned __int128 v = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int d = DigitValue(text[i]);
    if (d < 0 || (i == 0 && d > 7)) return std::nullopt;  // 26*5 = 130 bits; top 2 zero
    v = (v << 5) | static_cast<unsigned>(d);
  }
  std::string bytes(kBytes, '\0');
  for (int i = kBytes - 1; i >= 0; --i) {
    bytes[i] = static_cast<char>(static_cast<uint8_t>(v & 0xff));
    v >>= 8;
  }
  return ReportId(std::move(bytes));
}

absl::Time ReportId::time() const {
  absl::string_view in = bytes();
  return absl::FromUnixMicros(MicrosFromOrdered(*GetFixed64BE(&in)));
}

}  // namespace safeguarding::storage
