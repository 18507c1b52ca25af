#include "storage/report_id.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <array>
#include <cstring>

#include "absl/base/internal/raw_logging.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

// Value of each byte as a base32 digit (either case), or -1.
constexpr std::array<int8_t, 256> kDigitValues = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (int i = 0; i < 32; ++i) {
    const char upper = kAlphabet[i];
    values[static_cast<unsigned char>(upper)] = static_cast<int8_t>(i);
    if (upper >= 'A' && upper <= 'Z') {
      values[static_cast<unsigned char>(upper - 'A' + 'a')] = static_cast<int8_t>(i);
    }
  }
  return values;
}();

int DigitValue(char c) { return kDigitValues[static_cast<unsigned char>(c)]; }

}  // namespace

namespace {

// The random half of ids, drawn from OpenSSL's CSPRNG a few hundred ids at a time per
// thread: one RAND_bytes call (its locks and DRBG set-up) per 512 ids instead of one per
// id. The buffer is as secret as the DRBG state it came from, and each byte is handed out
// once and then zeroed. The server never forks, so no two processes share a buffer.
class RandomBuffer {
 public:
  RandomBuffer() = default;
  RandomBuffer(const RandomBuffer&) = delete;
  RandomBuffer& operator=(const RandomBuffer&) = delete;
  ~RandomBuffer() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }  // nothing left behind

  void Take(unsigned char* out, size_t n) {
    if (used_ + n > bytes_.size()) {
      // RAND_bytes only fails if the OS entropy source is broken; ids must never be
      // guessable, so that is fatal rather than a silent fallback.
      ABSL_RAW_CHECK(RAND_bytes(bytes_.data(), static_cast<int>(bytes_.size())) == 1,
                     "RAND_bytes failed");
      used_ = 0;
    }
    std::memcpy(out, bytes_.data() + used_, n);
    std::memset(bytes_.data() + used_, 0, n);
    used_ += n;
  }

 private:
  std::array<unsigned char, 4096> bytes_{};
  size_t used_ = sizeof(bytes_);  // empty: filled on first use
};

}  // namespace

ReportId ReportId::Generate(absl::Time received) {
  std::string bytes;
  bytes.reserve(kBytes);
  PutFixed64BE(&bytes, OrderedFromMicros(absl::ToUnixMicros(received)));
  thread_local RandomBuffer random_buffer;
  std::array<unsigned char, 8> random;
  random_buffer.Take(random.data(), random.size());
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
