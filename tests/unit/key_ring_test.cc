// Tests of storage/key_ring.h: sealing and opening (round trips, tampering, wrong key or
// associated data, a vector from an independent AES-GCM implementation), key ids, and the
// key file (loading, permissions, creation, rotation, concurrent rotation).
#include "storage/key_ring.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/support/temp_dir.h"

namespace safeguarding::storage {
namespace {

using ::safeguarding::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// Distinct, recognisable test keys: 32 bytes counting up from `first`.
std::string TestKey(uint8_t first) {
  std::string key(KeyRing::kKeyBytes, '\0');
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(first + i);
  return key;
}

KeyRing Ring(std::vector<std::string> keys) {
  absl::StatusOr<KeyRing> ring = KeyRing::FromKeys(std::move(keys));
  EXPECT_TRUE(ring.ok()) << ring.status();
  return ring.value();
}

uint32_t IdOf(const std::string& key) { return Ring({key}).current_key_id(); }

void WriteFile(const std::string& path, const std::string& contents, mode_t mode) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  return names;
}

// The key id bytes of a sealed blob, replaced.
std::string WithKeyId(std::string sealed, uint32_t id) {
  for (int i = 0; i < 4; ++i) sealed[1 + i] = static_cast<char>(id >> (24 - 8 * i));
  return sealed;
}

// ---------------------------------------------------------------------------------------
// Sealing and opening

TEST(KeyRingSealTest, RoundTripsEmptySmallBinaryAndOneMebibyte) {
  std::string mebibyte(1 << 20, '\0');
  for (size_t i = 0; i < mebibyte.size(); ++i) mebibyte[i] = static_cast<char>((i * 131) % 251);
  const std::vector<std::string> plaintexts = {"", "x", "the child said it happens at home",
                                               std::string("\0\xff\0\x01", 4), mebibyte};
  const KeyRing ring = Ring({TestKey(1)});
  for (const std::string& plaintext : plaintexts) {
    absl::StatusOr<std::string> sealed = ring.Seal(plaintext, "report-1");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    EXPECT_EQ(sealed->size(), plaintext.size() + KeyRing::kSealedOverhead);
    absl::StatusOr<std::string> opened = ring.Open(*sealed, "report-1");
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(*opened == plaintext) << "plaintext of " << plaintext.size() << " bytes";
  }
}

TEST(KeyRingSealTest, BlobStartsWithVersionAndCurrentKeyIdBigEndian) {
  const KeyRing ring = Ring({TestKey(1), TestKey(2)});
  absl::StatusOr<std::string> sealed = ring.Seal("hello", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(static_cast<uint8_t>((*sealed)[0]), 0x01);
  const uint32_t id = IdOf(TestKey(2));
  EXPECT_EQ(ring.current_key_id(), id);
  EXPECT_EQ(absl::BytesToHexString(sealed->substr(1, 4)), KeyIdHex(id));
  EXPECT_EQ(KeyRing::SealedKeyId(*sealed), id);
}

TEST(KeyRingSealTest, SamePlaintextSealsDifferentlyWithFreshNonces) {
  const KeyRing ring = Ring({TestKey(1)});
  std::set<std::string> blobs, nonces;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<std::string> sealed = ring.Seal("same words", "same report");
    ASSERT_TRUE(sealed.ok()) << sealed.status();
    blobs.insert(*sealed);
    nonces.insert(sealed->substr(5, 12));
  }
  EXPECT_EQ(blobs.size(), 100u);
  EXPECT_EQ(nonces.size(), 100u);
}

// Nonces are drawn 80 at a time per thread: across many draws and several threads at once
// none repeats, and none is all zeros (a pool handed out before it was filled).
TEST(KeyRingSealTest, NoncesFromPooledDrawsNeverRepeatAcrossThreads) {
  const KeyRing ring = Ring({TestKey(1)});
  constexpr int kThreads = 4, kSeals = 1000;
  std::vector<std::vector<std::string>> seen(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ring, &seen, t] {
      for (int i = 0; i < kSeals; ++i) {
        absl::StatusOr<std::string> sealed = ring.Seal("words", "report");
        if (sealed.ok()) seen[t].push_back(sealed->substr(5, 12));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::set<std::string> nonces;
  for (const auto& list : seen) {
    ASSERT_EQ(list.size(), static_cast<size_t>(kSeals));
    nonces.insert(list.begin(), list.end());
  }
  EXPECT_EQ(nonces.size(), static_cast<size_t>(kThreads * kSeals));
  EXPECT_EQ(nonces.count(std::string(12, '\0')), 0u);
}

TEST(KeyRingSealTest, BlobDoesNotContainThePlaintext) {
  const KeyRing ring = Ring({TestKey(1)});
  const std::string plaintext = "Reporter: the girl in year 6 has bruises again. Name: Jo";
  absl::StatusOr<std::string> sealed = ring.Seal(plaintext, "report-1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  // No 8-byte window of the plaintext survives.
  for (size_t i = 0; i + 8 <= plaintext.size(); ++i) {
    EXPECT_EQ(sealed->find(plaintext.substr(i, 8)), std::string::npos) << i;
  }
}

TEST(KeyRingOpenTest, WrongAssociatedDataIsDataLoss) {
  const KeyRing ring = Ring({TestKey(1)});
  absl::StatusOr<std::string> sealed = ring.Seal("words", "report-A");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  for (const std::string& other : {std::string("report-B"), std::string(""),
                                   std::string("report-A\0", 9), std::string("report-")}) {
    absl::StatusOr<std::string> opened = ring.Open(*sealed, other);
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss) << absl::CHexEscape(other);
  }
  absl::StatusOr<std::string> no_ad = ring.Seal("words", "");
  ASSERT_TRUE(no_ad.ok()) << no_ad.status();
  EXPECT_EQ(ring.Open(*no_ad, "x").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(ring.Open(*no_ad, "").ok());
}

TEST(KeyRingOpenTest, EverySingleFlippedBitFails) {
  const KeyRing ring = Ring({TestKey(1)});
  absl::StatusOr<std::string> sealed = ring.Seal("abc", "report-1");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_TRUE(ring.Open(*sealed, "report-1").ok());
  for (size_t byte = 0; byte < sealed->size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string tampered = *sealed;
      tampered[byte] = static_cast<char>(tampered[byte] ^ (1 << bit));
      absl::StatusOr<std::string> opened = ring.Open(tampered, "report-1");
      ASSERT_FALSE(opened.ok()) << "byte " << byte << " bit " << bit << " opened to "
                                << absl::CHexEscape(*opened);
      // The version byte and the tag-checked body are data loss; a changed key id names a
      // key this one-key ring does not hold.
      const absl::StatusCode expected = (byte >= 1 && byte <= 4)
                                            ? absl::StatusCode::kFailedPrecondition
                                            : absl::StatusCode::kDataLoss;
      EXPECT_EQ(opened.status().code(), expected) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(KeyRingOpenTest, TruncatedOrExtendedBlobIsDataLoss) {
  const KeyRing ring = Ring({TestKey(1)});
  absl::StatusOr<std::string> sealed = ring.Seal("some words", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  for (size_t len = 0; len < sealed->size(); ++len) {
    EXPECT_EQ(ring.Open(sealed->substr(0, len), "r").status().code(), absl::StatusCode::kDataLoss)
        << "first " << len << " bytes";
  }
  EXPECT_EQ(ring.Open(*sealed + '\0', "r").status().code(), absl::StatusCode::kDataLoss);
}

TEST(KeyRingOpenTest, UnknownVersionIsDataLossAndHasNoKeyId) {
  const KeyRing ring = Ring({TestKey(1)});
  absl::StatusOr<std::string> sealed = ring.Seal("words", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  for (char version : {'\x00', '\x02', '\xff'}) {
    std::string other = *sealed;
    other[0] = version;
    absl::StatusOr<std::string> opened = ring.Open(other, "r");
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kDataLoss);
    EXPECT_THAT(opened.status().message(), HasSubstr("version"));
    EXPECT_EQ(KeyRing::SealedKeyId(other), std::nullopt);
  }
}

TEST(KeyRingOpenTest, SealedKeyIdNeedsAWholeHeaderAndTag) {
  std::string blob(KeyRing::kSealedOverhead, '\0');
  blob[0] = '\x01';
  blob[4] = '\x2a';
  EXPECT_EQ(KeyRing::SealedKeyId(blob), 0x2au);
  EXPECT_EQ(KeyRing::SealedKeyId(blob.substr(0, blob.size() - 1)), std::nullopt);
  EXPECT_EQ(KeyRing::SealedKeyId(""), std::nullopt);
}

TEST(KeyRingOpenTest, RingWithoutTheSealingKeyIsFailedPreconditionNamingIt) {
  const KeyRing sealer = Ring({TestKey(1)});
  const KeyRing other = Ring({TestKey(2), TestKey(3)});
  absl::StatusOr<std::string> sealed = sealer.Seal("words", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  absl::StatusOr<std::string> opened = other.Open(*sealed, "r");
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(opened.status().message(), HasSubstr(absl::StrCat("key ", KeyIdHex(IdOf(TestKey(1))),
                                                                " is not in the key file")));
}

TEST(KeyRingOpenTest, BlobRelabelledWithAnotherKeysIdIsDataLoss) {
  const KeyRing ring = Ring({TestKey(1), TestKey(2)});
  absl::StatusOr<std::string> sealed = ring.Seal("words", "r");  // under key 2
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  ASSERT_EQ(KeyRing::SealedKeyId(*sealed), IdOf(TestKey(2)));
  const std::string relabelled = WithKeyId(*sealed, IdOf(TestKey(1)));
  ASSERT_EQ(KeyRing::SealedKeyId(relabelled), IdOf(TestKey(1)));
  EXPECT_EQ(ring.Open(relabelled, "r").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(ring.Open(*sealed, "r").ok());
}

TEST(KeyRingOpenTest, OlderKeysStillOpenAfterANewKeyIsAdded) {
  const KeyRing before = Ring({TestKey(1)});
  const KeyRing after = Ring({TestKey(1), TestKey(2)});
  absl::StatusOr<std::string> old_blob = before.Seal("old", "r");
  ASSERT_TRUE(old_blob.ok()) << old_blob.status();
  absl::StatusOr<std::string> opened = after.Open(*old_blob, "r");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "old");

  absl::StatusOr<std::string> new_blob = after.Seal("new", "r");
  ASSERT_TRUE(new_blob.ok()) << new_blob.status();
  EXPECT_EQ(KeyRing::SealedKeyId(*new_blob), IdOf(TestKey(2)));
  EXPECT_EQ(before.Open(*new_blob, "r").status().code(), absl::StatusCode::kFailedPrecondition);
}

// Made with Python's `cryptography` AESGCM (OpenSSL-independent code path in this test):
// key = bytes 00..1f, nonce = a0..ab, associated data = version|key id|nonce|"report-id-16byte".
// Pins the on-disk format: stored reports must stay readable by later builds.
TEST(KeyRingOpenTest, OpensAVectorFromAnIndependentImplementation) {
  std::string key(32, '\0');
  for (int i = 0; i < 32; ++i) key[i] = static_cast<char>(i);
  const KeyRing ring = Ring({key});
  const std::string blob = absl::HexStringToBytes(
      "01630dcd29a0a1a2a3a4a5a6a7a8a9aaab87381f452ca766981145f5b67715b2aa72f603f606b80c224675d83fae"
      "a3e95e");
  absl::StatusOr<std::string> opened = ring.Open(blob, "report-id-16byte");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "a child's report");
  EXPECT_EQ(ring.Open(blob, "report-id-16bytf").status().code(), absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------------------------------
// Key ids and rings

TEST(KeyRingTest, KeyIdIsTheFirstFourBytesOfSha256) {
  // sha256(32 zero bytes) = 66687aad...; sha256(00 01 .. 1f) = 630dcd29... (Python hashlib).
  EXPECT_EQ(IdOf(std::string(32, '\0')), 0x66687aadu);
  std::string counting(32, '\0');
  for (int i = 0; i < 32; ++i) counting[i] = static_cast<char>(i);
  EXPECT_EQ(IdOf(counting), 0x630dcd29u);
}

TEST(KeyRingTest, KeyIdsInOrderLastIsCurrent) {
  const KeyRing ring = Ring({TestKey(1), TestKey(2), TestKey(3)});
  EXPECT_THAT(ring.key_ids(), ElementsAre(IdOf(TestKey(1)), IdOf(TestKey(2)), IdOf(TestKey(3))));
  EXPECT_EQ(ring.current_key_id(), IdOf(TestKey(3)));
  EXPECT_TRUE(ring.HasKey(IdOf(TestKey(1))));
  EXPECT_TRUE(ring.HasKey(IdOf(TestKey(3))));
  EXPECT_FALSE(ring.HasKey(IdOf(TestKey(4))));
}

TEST(KeyRingTest, FromKeysRejectsNoKeysWrongSizesAndDuplicates) {
  EXPECT_EQ(KeyRing::FromKeys({}).status().code(), absl::StatusCode::kInvalidArgument);
  for (size_t size : {0, 16, 31, 33, 64}) {
    absl::StatusOr<KeyRing> ring = KeyRing::FromKeys({TestKey(1), std::string(size, 'k')});
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kInvalidArgument) << size;
    EXPECT_THAT(ring.status().message(), HasSubstr(absl::StrCat("is ", size, " bytes")));
  }
  absl::StatusOr<KeyRing> dup = KeyRing::FromKeys({TestKey(1), TestKey(2), TestKey(1)});
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(dup.status().message(), HasSubstr(KeyIdHex(IdOf(TestKey(1)))));
}

TEST(KeyRingTest, StatusMessagesNeverContainKeyMaterial) {
  const std::string secret = "SECRET-KEY-MATERIAL-0123456789ab";
  ASSERT_EQ(secret.size(), 32u);
  absl::StatusOr<KeyRing> dup = KeyRing::FromKeys({secret, secret});
  ASSERT_FALSE(dup.ok());
  TempDir dir;
  WriteFile(dir.Sub("keys"), secret + secret, 0600);
  absl::StatusOr<KeyRing> from_file = KeyRing::LoadFile(dir.Sub("keys"));
  ASSERT_FALSE(from_file.ok());
  for (const absl::Status& s : {dup.status(), from_file.status()}) {
    EXPECT_THAT(s.message(), Not(HasSubstr("SECRET")));
    EXPECT_THAT(s.message(), Not(HasSubstr(absl::BytesToHexString(secret.substr(0, 4)))));
  }
}

TEST(KeyRingTest, CopiesAndMovedFromRingsStillWork) {
  KeyRing ring = Ring({TestKey(1)});
  const KeyRing copy = ring;
  const KeyRing moved = std::move(ring);
  absl::StatusOr<std::string> sealed = copy.Seal("words", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_TRUE(moved.Open(*sealed, "r").ok());
  EXPECT_TRUE(ring.Open(*sealed, "r").ok());  // NOLINT(bugprone-use-after-move): by design
}

TEST(KeyRingTest, OneRingSealsAndOpensFromManyThreads) {
  const KeyRing ring = Ring({TestKey(1), TestKey(2)});
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&ring, &failures, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string plaintext = absl::StrCat("report ", t, " ", i);
        const std::string ad = absl::StrCat("id-", t, "-", i);
        absl::StatusOr<std::string> sealed = ring.Seal(plaintext, ad);
        absl::StatusOr<std::string> opened = sealed.ok() ? ring.Open(*sealed, ad) : sealed.status();
        if (!opened.ok() || *opened != plaintext) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

// Each thread keeps keyed cipher contexts for its last few keys: more rings than that, used
// in turn, each seal and open under its own key only; a failed open (tampered blob) leaves
// the next open under the same key working.
TEST(KeyRingTest, ManyKeysInTurnAndAFailedOpenInBetween) {
  std::vector<KeyRing> rings;
  for (uint8_t k = 0; k < 9; ++k)
    rings.push_back(Ring({TestKey(static_cast<uint8_t>(k * 20 + 1))}));
  for (int round = 0; round < 3; ++round) {
    for (size_t r = 0; r < rings.size(); ++r) {
      const std::string plaintext = absl::StrCat("round ", round, " ring ", r);
      absl::StatusOr<std::string> sealed = rings[r].Seal(plaintext, "ad");
      ASSERT_TRUE(sealed.ok()) << sealed.status();
      const KeyRing& other = rings[(r + 1) % rings.size()];
      EXPECT_EQ(other.Open(*sealed, "ad").status().code(), absl::StatusCode::kFailedPrecondition);
      std::string tampered = *sealed;
      tampered.back() = static_cast<char>(tampered.back() ^ 1);
      EXPECT_EQ(rings[r].Open(tampered, "ad").status().code(), absl::StatusCode::kDataLoss);
      absl::StatusOr<std::string> opened = rings[r].Open(*sealed, "ad");
      ASSERT_TRUE(opened.ok()) << opened.status();
      EXPECT_EQ(*opened, plaintext);
    }
  }
}

TEST(KeyIdHexTest, EightLowercaseHexDigits) {
  EXPECT_EQ(KeyIdHex(0), "00000000");
  EXPECT_EQ(KeyIdHex(0xab), "000000ab");
  EXPECT_EQ(KeyIdHex(0x1a2b3c4d), "1a2b3c4d");
  EXPECT_EQ(KeyIdHex(0xDEADBEEF), "deadbeef");
  EXPECT_EQ(KeyIdHex(0xffffffff), "ffffffff");
}

// ---------------------------------------------------------------------------------------
// Key files

TEST(KeyFileTest, LoadsOneKey) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(7), 0600);
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_THAT(ring->key_ids(), ElementsAre(IdOf(TestKey(7))));
  // Interchangeable with a ring of the same key.
  absl::StatusOr<std::string> sealed = Ring({TestKey(7)}).Seal("words", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  absl::StatusOr<std::string> opened = ring->Open(*sealed, "r");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "words");
}

TEST(KeyFileTest, LoadsThreeKeysLastIsCurrent) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(1) + TestKey(2) + TestKey(3), 0600);
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_THAT(ring->key_ids(), ElementsAre(IdOf(TestKey(1)), IdOf(TestKey(2)), IdOf(TestKey(3))));
  EXPECT_EQ(ring->current_key_id(), IdOf(TestKey(3)));
  absl::StatusOr<std::string> sealed = Ring({TestKey(1)}).Seal("old", "r");
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_TRUE(ring->Open(*sealed, "r").ok());
}

TEST(KeyFileTest, RejectsSizesThatAreNotAPositiveMultipleOf32) {
  TempDir dir;
  for (size_t size : {0, 1, 31, 33, 63, 65}) {
    const std::string path = dir.Sub(absl::StrCat("keys-", size));
    WriteFile(path, std::string(size, 'k'), 0600);
    absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition) << size;
    EXPECT_THAT(ring.status().message(), HasSubstr(path));
    EXPECT_THAT(ring.status().message(), HasSubstr(absl::StrCat(" is ", size, " bytes")));
  }
}

TEST(KeyFileTest, RejectsAccessByGroupOrOthers) {
  TempDir dir;
  for (mode_t mode : {0644, 0640, 0604, 0660, 0606, 0620, 0602, 0610, 0601, 0700, 0777}) {
    const std::string path = dir.Sub(absl::StrCat("keys-", mode));
    WriteFile(path, TestKey(1), mode);
    absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
    if ((mode & 077) == 0) {
      EXPECT_TRUE(ring.ok()) << std::oct << mode << ": " << ring.status();
      continue;
    }
    EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition) << std::oct << mode;
    EXPECT_THAT(ring.status().message(), HasSubstr("must be mode 0600"));
    EXPECT_THAT(ring.status().message(), HasSubstr(path));
  }
}

TEST(KeyFileTest, AcceptsOwnerOnlyModes) {
  TempDir dir;
  for (mode_t mode : {0600, 0400}) {
    const std::string path = dir.Sub(absl::StrCat("keys-", mode));
    WriteFile(path, TestKey(1), mode);
    absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
    EXPECT_TRUE(ring.ok()) << std::oct << mode << ": " << ring.status();
  }
}

TEST(KeyFileTest, MissingFileIsNotFoundNamingThePath) {
  TempDir dir;
  const std::string path = dir.Sub("no-such-keys");
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ring.status().message(), HasSubstr(path));
}

TEST(KeyFileTest, DirectoryOrFifoIsRefused) {
  TempDir dir;
  ASSERT_EQ(ModeOf(dir.path()) & 077, 0u);
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(dir.path());
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ring.status().message(), HasSubstr("not a regular file"));

  // Without a writer, a blocking open() of a FIFO would hang here.
  const std::string fifo = dir.Sub("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ring = KeyRing::LoadFile(fifo);
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ring.status().message(), HasSubstr("not a regular file"));
}

TEST(KeyFileTest, RejectsAKeyTwice) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(1) + TestKey(2) + TestKey(1), 0600);
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  EXPECT_EQ(ring.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ring.status().message(), HasSubstr(path));
  EXPECT_THAT(ring.status().message(), HasSubstr(KeyIdHex(IdOf(TestKey(1)))));
}

// Sets the process umask for one scope.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(CreateKeyFileTest, CreatesOneKeyWithMode0600EvenUnderAPermissiveUmask) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  {
    ScopedUmask umask(0);
    ASSERT_TRUE(CreateKeyFileIfMissing(path).ok());
  }
  EXPECT_EQ(ReadFile(path).size(), 32u);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("keys"));  // no temporary left behind
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->key_ids().size(), 1u);
}

TEST(CreateKeyFileTest, EachFileGetsAFreshRandomKey) {
  TempDir dir;
  ASSERT_TRUE(CreateKeyFileIfMissing(dir.Sub("a")).ok());
  ASSERT_TRUE(CreateKeyFileIfMissing(dir.Sub("b")).ok());
  EXPECT_NE(ReadFile(dir.Sub("a")), ReadFile(dir.Sub("b")));
  EXPECT_NE(ReadFile(dir.Sub("a")), std::string(32, '\0'));
}

TEST(CreateKeyFileTest, LeavesAnExistingFileByteIdentical) {
  TempDir dir;
  const std::string good = dir.Sub("good");
  WriteFile(good, TestKey(1) + TestKey(2), 0600);
  ASSERT_TRUE(CreateKeyFileIfMissing(good).ok());
  EXPECT_EQ(ReadFile(good), TestKey(1) + TestKey(2));
  EXPECT_EQ(ModeOf(good), 0600u);

  // Even an invalid one: LoadFile, not creation, reports what is wrong with it.
  const std::string bad = dir.Sub("bad");
  WriteFile(bad, "junk", 0644);
  ASSERT_TRUE(CreateKeyFileIfMissing(bad).ok());
  EXPECT_EQ(ReadFile(bad), "junk");
  EXPECT_EQ(ModeOf(bad), 0644u);
}

TEST(CreateKeyFileTest, MissingDirectoryIsAnError) {
  TempDir dir;
  absl::Status s = CreateKeyFileIfMissing(dir.Sub("no-such-dir/keys"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(dir.Sub("no-such-dir/keys")));
}

TEST(AppendNewKeyTest, AddsACurrentKeyAndOldBlobsStillOpen) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  ASSERT_TRUE(CreateKeyFileIfMissing(path).ok());
  const std::string before = ReadFile(path);
  absl::StatusOr<KeyRing> old_ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(old_ring.ok()) << old_ring.status();
  absl::StatusOr<std::string> old_blob = old_ring->Seal("old report", "r1");
  ASSERT_TRUE(old_blob.ok()) << old_blob.status();

  absl::StatusOr<KeyRing> ring = AppendNewKey(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  const uint32_t old_id = old_ring->current_key_id();
  ASSERT_EQ(ring->key_ids().size(), 2u);
  EXPECT_EQ(ring->key_ids()[0], old_id);
  EXPECT_NE(ring->current_key_id(), old_id);

  const std::string after = ReadFile(path);
  EXPECT_EQ(after.size(), 64u);
  EXPECT_EQ(after.substr(0, 32), before);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("keys"));

  absl::StatusOr<std::string> opened = ring->Open(*old_blob, "r1");
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, "old report");
  absl::StatusOr<std::string> new_blob = ring->Seal("new report", "r2");
  ASSERT_TRUE(new_blob.ok()) << new_blob.status();
  EXPECT_EQ(KeyRing::SealedKeyId(*new_blob), ring->current_key_id());

  // The file says the same as the returned ring.
  absl::StatusOr<KeyRing> reloaded = KeyRing::LoadFile(path);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->key_ids(), ring->key_ids());
  EXPECT_TRUE(reloaded->Open(*new_blob, "r2").ok());
  EXPECT_TRUE(reloaded->Open(*old_blob, "r1").ok());
}

TEST(AppendNewKeyTest, RepeatedRotationKeepsEveryKey) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(1), 0600);
  ASSERT_TRUE(AppendNewKey(path).ok());
  absl::StatusOr<KeyRing> ring = AppendNewKey(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ReadFile(path).size(), 96u);
  EXPECT_EQ(ReadFile(path).substr(0, 32), TestKey(1));
  const std::vector<uint32_t> ids = ring->key_ids();
  ASSERT_EQ(ids.size(), 3u);
  EXPECT_EQ(ids[0], IdOf(TestKey(1)));
  EXPECT_EQ(std::set<uint32_t>(ids.begin(), ids.end()).size(), 3u);
}

TEST(AppendNewKeyTest, RefusesAFileLoadFileRefusesAndLeavesItAlone) {
  TempDir dir;
  struct Case {
    std::string name;
    std::string contents;
    mode_t mode;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"open-to-group", TestKey(1), 0640, absl::StatusCode::kFailedPrecondition},
      {"short", std::string(33, 'k'), 0600, absl::StatusCode::kFailedPrecondition},
      {"duplicate", TestKey(1) + TestKey(1), 0600, absl::StatusCode::kFailedPrecondition},
  };
  for (const Case& c : cases) {
    const std::string path = dir.Sub(c.name);
    WriteFile(path, c.contents, c.mode);
    EXPECT_EQ(AppendNewKey(path).status().code(), c.code) << c.name;
    EXPECT_EQ(ReadFile(path), c.contents) << c.name;
    EXPECT_EQ(ModeOf(path), c.mode) << c.name;
  }
  const std::string missing = dir.Sub("missing");
  EXPECT_EQ(AppendNewKey(missing).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(missing));
}

TEST(AppendNewKeyTest, ReplacesAStaleTemporaryFromACrashedRotation) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(1), 0600);
  WriteFile(path + ".tmp", "half-written junk", 0644);
  absl::StatusOr<KeyRing> ring = AppendNewKey(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ReadFile(path).size(), 64u);
  EXPECT_EQ(ModeOf(path), 0600u);
  EXPECT_THAT(FilesIn(dir.path()), ElementsAre("keys"));
}

TEST(AppendNewKeyTest, ConcurrentRotationsLoseNoKey) {
  TempDir dir;
  const std::string path = dir.Sub("keys");
  WriteFile(path, TestKey(1), 0600);
  constexpr int kThreads = 4;
  constexpr int kRotationsEach = 5;
  std::vector<std::vector<uint32_t>> added(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&path, &added, t] {
      for (int i = 0; i < kRotationsEach; ++i) {
        absl::StatusOr<KeyRing> ring = AppendNewKey(path);
        if (ring.ok()) added[t].push_back(ring->current_key_id());
      }
    });
  }
  for (std::thread& th : threads) th.join();

  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(path);
  ASSERT_TRUE(ring.ok()) << ring.status();
  EXPECT_EQ(ring->key_ids().size(), 1u + kThreads * kRotationsEach);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(added[t].size(), static_cast<size_t>(kRotationsEach)) << "thread " << t;
    for (uint32_t id : added[t]) EXPECT_TRUE(ring->HasKey(id)) << KeyIdHex(id);
  }
}

TEST(KeyRingDeriveKeyTest, IsHmacOfTheOldestKeyAndSurvivesRotation) {
  testing::TempDir dir;
  const std::string path = dir.Sub("key");
  ASSERT_TRUE(CreateKeyFileIfMissing(path).ok());
  auto before = KeyRing::LoadFile(path);
  ASSERT_TRUE(before.ok());
  const std::string audit = before->DeriveKey("audit");
  EXPECT_EQ(audit.size(), 32u);
  EXPECT_NE(audit, before->DeriveKey("fingerprint"));
  auto after = AppendNewKey(path);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->current_key_id(), before->current_key_id());
  EXPECT_EQ(after->DeriveKey("audit"), audit) << "rotation must not change derived keys";
  auto other = KeyRing::FromKeys({std::string(32, 'x')});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->DeriveKey("audit"), audit);
}

}  // namespace
}  // namespace safeguarding::storage
