// Digests used across the service: SHA-256, HMAC-SHA256 (OpenSSL EVP), and the
// deterministic encoding of a protobuf message that they are taken over.
#ifndef SAFEGUARDING_COMMON_DIGEST_H_
#define SAFEGUARDING_COMMON_DIGEST_H_

#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace safeguarding::common {

// The message's encoding with deterministic serialization: equal messages, equal bytes.
std::string DeterministicEncoding(const google::protobuf::MessageLite& message);

// 32-byte digests.
std::string Sha256(absl::string_view data);
std::string HmacSha256(absl::string_view key, absl::string_view data);

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_DIGEST_H_
