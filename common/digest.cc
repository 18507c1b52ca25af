#include "common/digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

#include "absl/base/internal/raw_logging.h"
#include "common/keyed_contexts.h"
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

namespace {

// Fetched once: an implicit fetch (EVP_sha256() in a call) looks the algorithm up each time.
const EVP_MD* Sha256Md() {
  static const EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ABSL_RAW_CHECK(md != nullptr, "OpenSSL has no SHA-256");
  return md;
}

EVP_MAC* HmacMac() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ABSL_RAW_CHECK(mac != nullptr, "OpenSSL has no HMAC");
  return mac;
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// This thread's HMAC-SHA256 context for `key`, reset to just after keying.
EVP_MAC_CTX* HmacContext(absl::string_view key) {
  thread_local KeyedContexts<EVP_MAC_CTX, EVP_MAC_CTX_free> contexts;
  if (EVP_MAC_CTX* ctx = contexts.Find(key)) {
    // A null key re-initialises with the key already set (OpenSSL 3 HMAC).
    if (EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1) return ctx;
    contexts.Drop(ctx);
  }
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacMac());
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                               OSSL_PARAM_construct_end()};
  static const unsigned char kNoKey = 0;  // a null key would mean "the previous key"
  const unsigned char* bytes =
      key.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(key.data());
  ABSL_RAW_CHECK(ctx != nullptr && EVP_MAC_init(ctx, bytes, key.size(), params) == 1,
                 "HMAC-SHA256 set-up failed");
  contexts.Keep(key, ctx);
  return ctx;
}

}  // namespace

std::string Sha256(absl::string_view data) {
  thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Only fails if OpenSSL itself is broken; a wrong digest would be worse than stopping.
  ABSL_RAW_CHECK(ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) == 1 &&
                     EVP_DigestUpdate(ctx.get(), data.data(), data.size()) == 1 &&
                     EVP_DigestFinal_ex(ctx.get(), digest, &length) == 1,
                 "SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(digest), length);
}

std::string HmacSha256(absl::string_view key, absl::string_view data) {
  EVP_MAC_CTX* ctx = HmacContext(key);
  unsigned char digest[EVP_MAX_MD_SIZE];
  size_t length = 0;
  ABSL_RAW_CHECK(
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1 &&
          EVP_MAC_final(ctx, digest, &length, sizeof digest) == 1,
      "HMAC-SHA256 failed");
  std::string mac(reinterpret_cast<const char*>(digest), length);
  OPENSSL_cleanse(digest, sizeof digest);
  return mac;
}

}  // namespace safeguarding::common
