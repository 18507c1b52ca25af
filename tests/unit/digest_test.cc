// SHA-256 and HMAC-SHA256 through the per-thread keyed contexts (common/keyed_contexts.h):
// published vectors (FIPS 180-2, RFC 4231), keys interleaved beyond the contexts a thread
// keeps, and threads at once.
#include "common/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/keyed_contexts.h"

namespace safeguarding::common {
namespace {

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

void FreeNothing(int*) {}

struct HmacVector {
  std::string key;
  std::string data;
  std::string mac_hex;
};

// RFC 4231 test cases 1, 2 and 6 (a key longer than the block), and the empty key.
std::vector<HmacVector> RfcVectors() {
  return {
      {std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"", "", "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
  };
}

TEST(DigestTest, Sha256MatchesPublishedVectors) {
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  // Again on the same thread: the reused context starts from scratch each time.
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DigestTest, HmacMatchesRfc4231) {
  for (const HmacVector& v : RfcVectors()) {
    EXPECT_EQ(Hex(HmacSha256(v.key, v.data)), v.mac_hex) << "key of " << v.key.size() << " bytes";
  }
}

TEST(DigestTest, HmacKeysInterleavedBeyondTheContextsKept) {
  // More keys than a thread keeps contexts for, in an order that evicts and re-keys: each
  // MAC is still that of its own key, and repeating one gives the same MAC.
  std::vector<std::string> keys;
  for (int i = 0; i < static_cast<int>(KeyedContexts<int, FreeNothing>::kSlots) * 2 + 1; ++i) {
    keys.push_back(std::string(32, static_cast<char>('a' + i)));
  }
  std::vector<std::string> first;
  for (const std::string& key : keys) first.push_back(HmacSha256(key, "the same data"));
  for (size_t i = 0; i < keys.size(); ++i) {
    for (size_t j = i + 1; j < keys.size(); ++j) EXPECT_NE(first[i], first[j]);
  }
  for (int round = 0; round < 3; ++round) {
    for (size_t i = keys.size(); i-- > 0;) {
      EXPECT_EQ(HmacSha256(keys[i], "the same data"), first[i]) << "key " << i;
      EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")), RfcVectors()[1].mac_hex);
    }
  }
  // Keys that differ only in length are different keys.
  EXPECT_NE(HmacSha256(std::string(31, 'a'), "x"), HmacSha256(std::string(32, 'a'), "x"));
}

TEST(DigestTest, ThreadsAtOnceEachGetTheRightMacs) {
  const std::vector<HmacVector> vectors = RfcVectors();
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const HmacVector& v = vectors[(i + t) % vectors.size()];
        if (Hex(HmacSha256(v.key, v.data)) != v.mac_hex) ++wrong[t];
        if (Hex(Sha256("abc")) !=
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace safeguarding::common
