#include "common/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/base/internal/raw_logging.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace safeguarding::common {

std::string DeterministicEncoding(const google::protobuf::MessageLite& message) {
  std::string encoded;
  {
    google::protobuf::io::StringOutputStream stream(&encoded);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return encoded;
}

std::string Sha256(absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Only fails if OpenSSL itself is broken; a wrong digest would be worse than stopping.
  ABSL_RAW_CHECK(EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) == 1,
                 "SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ABSL_RAW_CHECK(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest,
                      &length) != nullptr,
                 "HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace safeguarding::common
