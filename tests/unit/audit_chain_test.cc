// Tests of storage/audit_chain.h: the signed head, the entry hash (covers every field but
// `hash`), anchors, and the verifier on a trail built the way the committer builds it
// (beginning with a key change), intact and then tampered with in each way the header
// promises to catch, across key changes and migrated (legacy) sections.
#include "storage/audit_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"

namespace safeguarding::storage {
namespace {

// A raw HMAC key for the AuditEntryHash tests.
constexpr char kEntryKey[] = "test audit chain key, 32 bytes!";

KeyRing TestRing(std::vector<char> fills) {
  std::vector<std::string> keys;
  for (char c : fills) keys.push_back(std::string(32, c));
  return *KeyRing::FromKeys(std::move(keys));
}

// Audit keys "A" (older) and "B" (current), and B alone.
const AuditKeys& BothKeys() {
  static const AuditKeys* keys = new AuditKeys(TestRing({'A', 'B'}));
  return *keys;
}
const AuditKeys& OnlyB() {
  static const AuditKeys* keys = new AuditKeys(TestRing({'B'}));
  return *keys;
}
uint32_t KeyA() { return TestRing({'A'}).current_key_id(); }
uint32_t KeyB() { return OnlyB().current_id(); }
std::string ChainKeyOf(uint32_t id) { return *BothKeys().ChainKey(id); }
std::string TrailKey() { return ChainKeyOf(KeyB()); }

using ::google::protobuf::util::TimeUtil;

constexpr int64_t kBaseMicros = 1'700'000'000'123'456;  // 2023-11-14T22:13:20.123456Z
std::string ZeroHash() { return std::string(32, '\0'); }

std::string Hex(const std::string& bytes) { return absl::BytesToHexString(bytes); }

// 32 distinct bytes, none zero.
std::string SampleHash(char first) {
  std::string hash;
  for (int i = 0; i < 32; ++i) hash.push_back(static_cast<char>(first + i));
  return hash;
}

v1::AuditEntry SampleEntry() {
  v1::AuditEntry entry;
  entry.set_sequence(7);
  *entry.mutable_time() = TimeUtil::MicrosecondsToTimestamp(kBaseMicros);
  entry.set_principal("t.jones");
  entry.set_role(v1::ROLE_TRIAGER);
  entry.set_method("/safeguarding.triage.v1.TriageDesk/GetReport");
  entry.set_report_id("01HF0000000000000000000000");
  entry.set_result_code(0);
  entry.set_peer("ipv4:127.0.0.1:53422");
  entry.set_previous_hash(SampleHash('a'));
  return entry;
}

// ---- The stored head ----

std::vector<AuditHead> SampleHeads() {
  return {
      AuditHead{1, kBaseMicros, SampleHash('a'), 0x01020304},                   // the first entry
      AuditHead{0xFFFFFFFFFFFFFFFFull, -1, SampleHash('A'), 0xFFFFFFFF},        // extremes
      AuditHead{1234567, -62'135'596'800'000'000, std::string(32, '\xff'), 0},  // year 1
  };
}

TEST(StoredHeadTest, SignedHeadsRoundTripAndVerify) {
  const std::string key = ChainKeyOf(KeyB());
  for (const AuditHead& head : SampleHeads()) {
    std::optional<StoredHead> decoded = DecodeStoredHead(EncodeSignedHead(head, key));
    ASSERT_TRUE(decoded.has_value());
    EXPECT_FALSE(decoded->legacy);
    EXPECT_EQ(decoded->head.sequence, head.sequence);
    EXPECT_EQ(decoded->head.time_micros, head.time_micros);
    EXPECT_EQ(Hex(decoded->head.hash), Hex(head.hash));
    EXPECT_EQ(decoded->head.key_id, head.key_id);
    EXPECT_TRUE(HeadSignatureValid(*decoded, key));
    EXPECT_FALSE(HeadSignatureValid(*decoded, ChainKeyOf(KeyA())));
  }
}

TEST(StoredHeadTest, AnyChangedByteBreaksTheSignature) {
  const std::string key = ChainKeyOf(KeyB());
  const std::string good = EncodeSignedHead(SampleHeads()[0], key);
  for (size_t i = 1; i < good.size(); ++i) {  // byte 0 is the version
    std::string edited = good;
    edited[i] = static_cast<char>(edited[i] ^ 0x01);
    std::optional<StoredHead> decoded = DecodeStoredHead(edited);
    ASSERT_TRUE(decoded.has_value()) << i;
    EXPECT_FALSE(HeadSignatureValid(*decoded, key)) << "byte " << i;
  }
}

TEST(StoredHeadTest, LegacyHeadsDecodeUnsigned) {
  std::string legacy;
  PutFixed64BE(&legacy, 9);
  PutFixed64BE(&legacy, OrderedFromMicros(kBaseMicros));
  legacy.append(SampleHash('c'));
  std::optional<StoredHead> decoded = DecodeStoredHead(legacy);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(decoded->legacy);
  EXPECT_EQ(decoded->head.sequence, 9u);
  EXPECT_EQ(decoded->head.time_micros, kBaseMicros);
  EXPECT_FALSE(HeadSignatureValid(*decoded, ChainKeyOf(KeyB())));
}

TEST(StoredHeadTest, DecodeRejectsOtherLengthsAndVersions) {
  const std::string good = EncodeSignedHead(SampleHeads()[0], ChainKeyOf(KeyB()));
  for (size_t length = 0; length < good.size(); ++length) {
    if (length == 48) continue;  // a legacy head's length
    EXPECT_FALSE(DecodeStoredHead(good.substr(0, length)).has_value()) << length;
  }
  EXPECT_FALSE(DecodeStoredHead(good + "x").has_value());
  std::string other_version = good;
  other_version[0] = 0x03;
  EXPECT_FALSE(DecodeStoredHead(other_version).has_value());
}

// ---- Anchors ----

TEST(AuditAnchorPointTest, PrintsAndParsesSequenceColonHash) {
  AuditAnchorPoint anchor{1234, SampleHash('a')};
  EXPECT_EQ(anchor.ToString(), absl::StrCat("1234:", Hex(SampleHash('a'))));
  absl::StatusOr<AuditAnchorPoint> parsed = AuditAnchorPoint::Parse(anchor.ToString());
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->sequence, 1234u);
  EXPECT_EQ(Hex(parsed->hash), Hex(anchor.hash));
  // Upper-case hex is accepted too.
  EXPECT_TRUE(AuditAnchorPoint::Parse(absl::AsciiStrToUpper(anchor.ToString())).ok());
}

TEST(AuditAnchorPointTest, RejectsMalformedAnchors) {
  const std::string hash = Hex(SampleHash('a'));
  for (const std::string& bad :
       {std::string(""), std::string("1234"), absl::StrCat("0:", hash), absl::StrCat("x:", hash),
        absl::StrCat("-1:", hash), std::string("12:abcd"), absl::StrCat("12:", hash, "00"),
        absl::StrCat("12:", hash.substr(0, 63), "g"), absl::StrCat(":", hash)}) {
    absl::StatusOr<AuditAnchorPoint> parsed = AuditAnchorPoint::Parse(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

// ---- AuditEntryHash ----

TEST(AuditEntryHashTest, IsA32ByteHmacSha256OfTheEntryWithoutItsHash) {
  v1::AuditEntry entry = SampleEntry();
  const std::string serialized = entry.SerializeAsString();  // `hash` not set yet
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ASSERT_NE(HMAC(EVP_sha256(), kEntryKey, static_cast<int>(strlen(kEntryKey)),
                 reinterpret_cast<const unsigned char*>(serialized.data()), serialized.size(),
                 digest, &length),
            nullptr);
  const std::string expected(reinterpret_cast<const char*>(digest), length);
  EXPECT_EQ(AuditEntryHash(entry, kEntryKey).size(), kAuditHashBytes);
  EXPECT_EQ(Hex(AuditEntryHash(entry, kEntryKey)), Hex(expected));
}

TEST(AuditEntryHashTest, DependsOnTheKey) {
  v1::AuditEntry entry = SampleEntry();
  EXPECT_NE(Hex(AuditEntryHash(entry, kEntryKey)), Hex(AuditEntryHash(entry, "another key")));
}

TEST(AuditEntryHashTest, IsDeterministic) {
  const v1::AuditEntry a = SampleEntry();
  const v1::AuditEntry b = SampleEntry();
  EXPECT_EQ(Hex(AuditEntryHash(a, kEntryKey)), Hex(AuditEntryHash(b, kEntryKey)));
}

TEST(AuditEntryHashTest, IgnoresTheHashField) {
  v1::AuditEntry entry = SampleEntry();
  const std::string before = AuditEntryHash(entry, kEntryKey);
  entry.set_hash(SampleHash('z'));
  EXPECT_EQ(Hex(AuditEntryHash(entry, kEntryKey)), Hex(before));
  entry.set_hash(before);
  EXPECT_EQ(Hex(AuditEntryHash(entry, kEntryKey)), Hex(before));
}

struct FieldEdit {
  const char* field;
  std::function<void(v1::AuditEntry&)> edit;
};

// One edit per field the hash covers; none changes `hash`.
std::vector<FieldEdit> FieldEdits() {
  return {
      {"principal", [](v1::AuditEntry& e) { e.set_principal(e.principal() + "x"); }},
      {"principal cleared", [](v1::AuditEntry& e) { e.clear_principal(); }},
      {"role",
       [](v1::AuditEntry& e) {
         e.set_role(e.role() == v1::ROLE_ADMIN ? v1::ROLE_MONITOR : v1::ROLE_ADMIN);
       }},
      {"method",
       [](v1::AuditEntry& e) { e.set_method("/safeguarding.triage.v1.TriageDesk/AddNote"); }},
      {"report_id", [](v1::AuditEntry& e) { e.set_report_id(e.report_id() + "1"); }},
      {"result_code", [](v1::AuditEntry& e) { e.set_result_code(e.result_code() + 7); }},
      {"peer", [](v1::AuditEntry& e) { e.set_peer("ipv4:10.0.0.9:1234"); }},
      {"time seconds",
       [](v1::AuditEntry& e) { e.mutable_time()->set_seconds(e.time().seconds() + 1); }},
      {"time nanos",
       [](v1::AuditEntry& e) { e.mutable_time()->set_nanos(e.time().nanos() + 1000); }},
      {"sequence", [](v1::AuditEntry& e) { e.set_sequence(e.sequence() + 1); }},
      {"previous_hash",
       [](v1::AuditEntry& e) {
         std::string h = e.previous_hash();
         h[31] = static_cast<char>(h[31] ^ 1);
         e.set_previous_hash(h);
       }},
  };
}

TEST(AuditEntryHashTest, ChangesWhenAnyFieldChanges) {
  const v1::AuditEntry original = SampleEntry();
  const std::string before = AuditEntryHash(original, kEntryKey);
  for (const FieldEdit& f : FieldEdits()) {
    v1::AuditEntry edited = original;
    f.edit(edited);
    EXPECT_NE(Hex(AuditEntryHash(edited, kEntryKey)), Hex(before)) << f.field;
  }
}

// ---- AuditChainVerifier ----

// One stored audit row: its key (time, sequence) and its value.
struct Row {
  int64_t key_time_micros;
  uint64_t key_sequence;
  v1::AuditEntry entry;
};

struct Trail {
  std::vector<Row> rows;
  AuditHead head;
  std::string chain_key = ChainKeyOf(KeyB());  // signs the head
  bool no_head = false;

  std::optional<StoredHead> Stored() const {
    if (no_head) return std::nullopt;
    return DecodeStoredHead(EncodeSignedHead(head, chain_key));
  }
};

// Links `entry` after `previous_hash` and hashes it under `key`, as storage/committer.cc does.
void Seal(v1::AuditEntry& entry, const std::string& previous_hash,
          const std::string& key = TrailKey()) {
  entry.set_previous_hash(previous_hash);
  entry.set_hash(AuditEntryHash(entry, key));
}

v1::AuditEntry KeyChange(uint32_t key_id, std::string previous_key_id, std::string digest) {
  v1::AuditEntry entry;
  entry.set_principal(kAuditServerPrincipal);
  entry.set_method(kAuditKeyChangeMethod);
  entry.mutable_key_change()->set_key_id(KeyIdHex(key_id));
  entry.mutable_key_change()->set_previous_key_id(std::move(previous_key_id));
  entry.mutable_key_change()->set_trail_digest(std::move(digest));
  return entry;
}

// Appends `entry` as the next row, stamped, linked and hashed under `key`; updates the head.
void Append(Trail& trail, v1::AuditEntry entry, const std::string& key, uint32_t key_id) {
  const uint64_t sequence = trail.rows.size() + 1;
  const int64_t micros = kBaseMicros + static_cast<int64_t>(sequence / 3) * 1500;
  entry.set_sequence(sequence);
  *entry.mutable_time() = TimeUtil::MicrosecondsToTimestamp(micros);
  Seal(entry, trail.rows.empty() ? ZeroHash() : trail.rows.back().entry.hash(), key);
  trail.rows.push_back(Row{micros, sequence, entry});
  trail.head = AuditHead{sequence, micros, entry.hash(), key_id};
}

std::string DigestOf(const Trail& trail) {
  TrailDigest digest;
  for (const Row& row : trail.rows) digest.Add(row.entry);
  return digest.value();
}

// A varied access entry (who, what, which report, outcome).
v1::AuditEntry Access(int i) {
  const v1::Role roles[] = {v1::ROLE_INTAKE, v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR,
                            v1::ROLE_MONITOR, v1::ROLE_ADMIN};
  v1::AuditEntry entry;
  entry.set_principal(absl::StrCat("user-", i % 4));
  entry.set_role(roles[i % 5]);
  entry.set_method(i % 2 == 0 ? "/safeguarding.triage.v1.TriageDesk/GetReport"
                              : "/safeguarding.triage.v1.ReportIntake/SubmitReport");
  if (i % 3 != 0) entry.set_report_id(absl::StrCat("01HF00000000000000000000", 10 + i));
  entry.set_result_code(i % 4 == 0 ? 7 : 0);
  entry.set_peer(absl::StrCat("ipv4:127.0.0.1:", 50000 + i));
  return entry;
}

// A trail of `n` entries as a new store writes it: sequence 1 is the key change that begins
// it (audit key B), then accesses; times non-decreasing (some equal).
Trail BuildTrail(int n) {
  Trail trail;
  for (int i = 1; i <= n; ++i) {
    Append(trail, i == 1 ? KeyChange(KeyB(), "", ZeroHash()) : Access(i), TrailKey(), KeyB());
  }
  return trail;
}

AuditChainVerifier Verify(const Trail& trail, const AuditKeys& keys = BothKeys(),
                          AuditVerifierOptions options = {}) {
  AuditChainVerifier verifier(keys, std::move(options));
  for (const Row& row : trail.rows) verifier.Add(row.entry, row.key_time_micros, row.key_sequence);
  verifier.Finish(trail.Stored());
  return verifier;
}

// Expects a break first found at `sequence`, with a reason.
void ExpectBrokenAt(const AuditChainVerifier& verifier, uint64_t sequence,
                    const std::string& what) {
  ASSERT_FALSE(verifier.intact()) << what;
  EXPECT_EQ(verifier.first_bad_sequence(), sequence) << what << ": " << verifier.problem();
  EXPECT_FALSE(verifier.problem().empty()) << what;
}

TEST(AuditChainVerifierTest, TheTestTrailIsLinkedLikeTheCommittersTrail) {
  // Guards the fixture: the first entry links to zeros, each other to its predecessor.
  const Trail trail = BuildTrail(10);
  ASSERT_EQ(trail.rows.size(), 10u);
  EXPECT_EQ(Hex(trail.rows[0].entry.previous_hash()), Hex(ZeroHash()));
  for (size_t i = 1; i < trail.rows.size(); ++i) {
    EXPECT_EQ(Hex(trail.rows[i].entry.previous_hash()), Hex(trail.rows[i - 1].entry.hash()));
    EXPECT_NE(Hex(trail.rows[i].entry.hash()), Hex(trail.rows[i - 1].entry.hash()));
    EXPECT_LE(trail.rows[i - 1].key_time_micros, trail.rows[i].key_time_micros);
  }
}

TEST(AuditChainVerifierTest, AnUntouchedTrailIsIntact) {
  const Trail trail = BuildTrail(10);
  AuditChainVerifier verifier = Verify(trail);
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(verifier.checked(), 10u);
  EXPECT_EQ(verifier.first_bad_sequence(), 0u);
}

TEST(AuditChainVerifierTest, AnUntouchedTrailIsIntactWithOnlyItsCurrentKey) {
  AuditChainVerifier verifier = Verify(BuildTrail(10), OnlyB());
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(verifier.walked().key_id, KeyB());
}

TEST(AuditChainVerifierTest, AnEmptyTrailIsBroken) {
  // Every store's trail begins with its creation: an empty one had its entries removed,
  // whether or not a head is left.
  Trail empty;
  empty.no_head = true;
  ExpectBrokenAt(Verify(empty), 1, "empty, no head");
  Trail empty_with_head;
  ExpectBrokenAt(Verify(empty_with_head), 1, "empty, head of nothing");
}

TEST(AuditChainVerifierTest, ASingleEntryTrailIsIntact) {
  AuditChainVerifier verifier = Verify(BuildTrail(1));
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(verifier.checked(), 1u);
}

TEST(AuditChainVerifierTest, CatchesAnEditedFieldWithoutRehashing) {
  for (const FieldEdit& f : FieldEdits()) {
    Trail trail = BuildTrail(10);
    f.edit(trail.rows[3].entry);  // sequence 4
    ExpectBrokenAt(Verify(trail), 4, f.field);
  }
}

TEST(AuditChainVerifierTest, CatchesAnEditedHash) {
  Trail trail = BuildTrail(10);
  trail.rows[3].entry.set_hash(SampleHash('q'));
  ExpectBrokenAt(Verify(trail), 4, "hash replaced");
}

TEST(AuditChainVerifierTest, CatchesAnEditedFieldRehashedByTheNextLink) {
  // Content edits only: time and sequence edits are caught by the key at once (below).
  for (const FieldEdit& f : FieldEdits()) {
    const std::string field = f.field;
    if (field.rfind("time", 0) == 0 || field == "sequence" || field == "previous_hash") continue;
    Trail trail = BuildTrail(10);
    v1::AuditEntry& entry = trail.rows[3].entry;  // sequence 4
    f.edit(entry);
    entry.set_hash(AuditEntryHash(entry, TrailKey()));
    ExpectBrokenAt(Verify(trail), 5, field);
  }
}

TEST(AuditChainVerifierTest, CatchesAnEditedLastEntryRehashedByTheHead) {
  Trail trail = BuildTrail(10);
  v1::AuditEntry& last = trail.rows.back().entry;
  last.set_result_code(0);
  last.set_principal("someone-else");
  last.set_hash(AuditEntryHash(last, TrailKey()));
  // Entry 10 no longer matches the head: the chain breaks at 10 (there is no entry 11).
  ExpectBrokenAt(Verify(trail), 10, "last entry edited and re-hashed");
}

TEST(AuditChainVerifierTest, CatchesARewrittenTailThroughTheHead) {
  // Every hash from the edit on recomputed: only the head can tell.
  Trail trail = BuildTrail(10);
  trail.rows[3].entry.set_principal("mallory");
  std::string previous = trail.rows[2].entry.hash();
  for (size_t i = 3; i < trail.rows.size(); ++i) {
    Seal(trail.rows[i].entry, previous);
    previous = trail.rows[i].entry.hash();
  }
  AuditChainVerifier verifier = Verify(trail);
  ASSERT_FALSE(verifier.intact());
  EXPECT_FALSE(verifier.problem().empty());
}

TEST(AuditChainVerifierTest, CatchesARemovedMiddleEntry) {
  Trail trail = BuildTrail(10);
  trail.rows.erase(trail.rows.begin() + 4);  // sequence 5
  ExpectBrokenAt(Verify(trail), 5, "entry 5 removed");
}

TEST(AuditChainVerifierTest, CatchesARemovedFirstEntry) {
  Trail trail = BuildTrail(10);
  trail.rows.erase(trail.rows.begin());
  ExpectBrokenAt(Verify(trail), 1, "entry 1 removed");
}

TEST(AuditChainVerifierTest, CatchesTwoEntriesSwappedUnderTheirKeys) {
  Trail trail = BuildTrail(10);
  std::swap(trail.rows[4].entry, trail.rows[5].entry);  // sequences 5 and 6
  ExpectBrokenAt(Verify(trail), 5, "values of 5 and 6 swapped");
}

TEST(AuditChainVerifierTest, CatchesTwoEntriesReordered) {
  Trail trail = BuildTrail(10);
  std::swap(trail.rows[4], trail.rows[5]);  // 6 is read before 5
  ExpectBrokenAt(Verify(trail), 5, "5 and 6 read out of order");
}

TEST(AuditChainVerifierTest, CatchesTwoEntriesSwappedAndRenumbered) {
  // The attacker swaps 5 and 6 and fixes sequences, times and keys, but cannot fix the
  // links without rewriting every later hash.
  Trail trail = BuildTrail(10);
  std::swap(trail.rows[4].entry, trail.rows[5].entry);
  for (size_t i : {size_t{4}, size_t{5}}) {
    Row& row = trail.rows[i];
    row.entry.set_sequence(row.key_sequence);
    *row.entry.mutable_time() = TimeUtil::MicrosecondsToTimestamp(row.key_time_micros);
    row.entry.set_hash(AuditEntryHash(row.entry, TrailKey()));
  }
  ExpectBrokenAt(Verify(trail), 5, "5 and 6 swapped and renumbered");
}

TEST(AuditChainVerifierTest, CatchesARemovedLastEntryThroughTheHead) {
  Trail trail = BuildTrail(10);
  trail.rows.pop_back();
  ExpectBrokenAt(Verify(trail), 10, "entry 10 removed");
}

TEST(AuditChainVerifierTest, CatchesTheLastTwoEntriesRemoved) {
  Trail trail = BuildTrail(10);
  trail.rows.resize(8);
  ExpectBrokenAt(Verify(trail), 9, "entries 9 and 10 removed");
}

TEST(AuditChainVerifierTest, CatchesEveryEntryRemoved) {
  Trail trail = BuildTrail(10);
  trail.rows.clear();
  ExpectBrokenAt(Verify(trail), 1, "all entries removed");
}

TEST(AuditChainVerifierTest, CatchesEntriesBeyondTheHead) {
  // Entries 9 and 10 are well linked, but the head vouches only for 1..8.
  Trail trail = BuildTrail(10);
  trail.head = BuildTrail(8).head;
  ExpectBrokenAt(Verify(trail), 9, "entries appended after the head");
}

// The attack of issue 7: cut the newest entry and point the head at the one before. The
// sequence, time and hash are all readable from that entry; the signature is not.
TEST(AuditChainVerifierTest, CatchesACutTailWithARewrittenHead) {
  Trail trail = BuildTrail(10);
  trail.rows.pop_back();
  trail.head =
      AuditHead{9, trail.rows.back().key_time_micros, trail.rows.back().entry.hash(), KeyB()};
  trail.chain_key = "a guessed key";
  AuditChainVerifier verifier = Verify(trail);
  ExpectBrokenAt(verifier, 9, "tail cut, head re-signed with a guess");
  EXPECT_THAT(verifier.problem(), ::testing::HasSubstr("signature"));
}

TEST(AuditChainVerifierTest, CatchesAnUnsignedHead) {
  Trail trail = BuildTrail(10);
  std::string legacy;
  PutFixed64BE(&legacy, trail.head.sequence);
  PutFixed64BE(&legacy, OrderedFromMicros(trail.head.time_micros));
  legacy.append(trail.head.hash);
  AuditChainVerifier verifier(BothKeys());
  for (const Row& row : trail.rows) verifier.Add(row.entry, row.key_time_micros, row.key_sequence);
  verifier.Finish(DecodeStoredHead(legacy));
  ExpectBrokenAt(verifier, 10, "head in the unsigned legacy format");
}

TEST(AuditChainVerifierTest, CatchesAMissingHead) {
  Trail trail = BuildTrail(10);
  trail.no_head = true;
  ExpectBrokenAt(Verify(trail), 10, "head removed");
}

TEST(AuditChainVerifierTest, CatchesAHeadSignedWithAKeyNotInTheFile) {
  Trail trail = BuildTrail(10);
  AuditKeys only_a{TestRing({'A'})};
  AuditChainVerifier verifier = Verify(trail, only_a);
  ASSERT_FALSE(verifier.intact());
}

TEST(AuditChainVerifierTest, CatchesARecordedBreak) {
  Trail trail = BuildTrail(5);
  v1::AuditEntry damage;
  damage.set_principal(kAuditServerPrincipal);
  damage.set_method(kAuditTrailBreakMethod);
  damage.mutable_trail_break()->set_problem("the chain head is missing");
  Append(trail, damage, TrailKey(), KeyB());
  Append(trail, Access(7), TrailKey(), KeyB());
  AuditChainVerifier verifier = Verify(trail);
  ExpectBrokenAt(verifier, 6, "break recorded at open");
  EXPECT_THAT(verifier.problem(), ::testing::HasSubstr("the chain head is missing"));
}

// ---- Key changes, digests, migrated trails ----

// Entries 1..4 as a store written before audit keys (keyed with `legacy_key`), then the
// migration's key change to B with the digest of 1..4, then accesses under B.
Trail MigratedTrail(const std::string& legacy_key) {
  Trail trail;
  for (int i = 1; i <= 4; ++i) Append(trail, Access(i), legacy_key, 0);
  Append(trail, KeyChange(KeyB(), "legacy:0badf00d", DigestOf(trail)), TrailKey(), KeyB());
  for (int i = 6; i <= 8; ++i) Append(trail, Access(i), TrailKey(), KeyB());
  return trail;
}

TEST(AuditChainVerifierTest, AMigratedTrailIsIntactWithoutTheLegacyKey) {
  AuditChainVerifier verifier = Verify(MigratedTrail("legacy key"));
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(verifier.checked(), 8u);
}

TEST(AuditChainVerifierTest, AnEditedLegacyEntryFailsTheMigrationDigest) {
  Trail trail = MigratedTrail("legacy key");
  v1::AuditEntry& entry = trail.rows[1].entry;  // sequence 2
  entry.set_principal("someone-else");
  entry.set_hash(AuditEntryHash(entry, "any key"));
  // Re-link entry 3 so only the digest can tell.
  Seal(trail.rows[2].entry, entry.hash(), "any key");
  Seal(trail.rows[3].entry, trail.rows[2].entry.hash(), "any key");
  Seal(trail.rows[4].entry, trail.rows[3].entry.hash(), TrailKey());  // breaks 5's hash too
  AuditChainVerifier verifier = Verify(trail);
  ASSERT_FALSE(verifier.intact());
  EXPECT_EQ(verifier.first_bad_sequence(), 1u) << verifier.problem();
  EXPECT_THAT(verifier.problem(), ::testing::HasSubstr("digest"));
}

TEST(AuditChainVerifierTest, WithTheLegacyKeyEachLegacyEntryIsChecked) {
  // Migration checks the old trail entry by entry with the key that keyed it.
  Trail trail;
  for (int i = 1; i <= 4; ++i) Append(trail, Access(i), "legacy key", 0);
  std::string legacy;
  PutFixed64BE(&legacy, trail.head.sequence);
  PutFixed64BE(&legacy, OrderedFromMicros(trail.head.time_micros));
  legacy.append(trail.head.hash);
  AuditVerifierOptions migrating{.legacy_chain_key = "legacy key", .accept_legacy_head = true};
  {
    AuditChainVerifier verifier(BothKeys(), migrating);
    for (const Row& row : trail.rows)
      verifier.Add(row.entry, row.key_time_micros, row.key_sequence);
    verifier.Finish(DecodeStoredHead(legacy));
    EXPECT_TRUE(verifier.intact()) << verifier.problem();
  }
  trail.rows[2].entry.set_peer("ipv4:10.1.1.1:1");
  AuditChainVerifier verifier(BothKeys(), migrating);
  for (const Row& row : trail.rows) verifier.Add(row.entry, row.key_time_micros, row.key_sequence);
  verifier.Finish(DecodeStoredHead(legacy));
  ExpectBrokenAt(verifier, 3, "legacy entry edited");
}

TEST(AuditChainVerifierTest, LegacyEntriesWithoutAKeyChangeAreBroken) {
  Trail trail;
  for (int i = 1; i <= 4; ++i) Append(trail, Access(i), "legacy key", KeyB());
  trail.chain_key = TrailKey();
  ExpectBrokenAt(Verify(trail), 1, "no key change ever");
}

// Audit key A, then a new audit key B added to the file.
Trail RotatedTrail() {
  Trail trail;
  const std::string key_a = ChainKeyOf(KeyA());
  Append(trail, KeyChange(KeyA(), "", ZeroHash()), key_a, KeyA());
  for (int i = 2; i <= 4; ++i) Append(trail, Access(i), key_a, KeyA());
  Append(trail, KeyChange(KeyB(), KeyIdHex(KeyA()), DigestOf(trail)), TrailKey(), KeyB());
  for (int i = 6; i <= 7; ++i) Append(trail, Access(i), TrailKey(), KeyB());
  return trail;
}

TEST(AuditChainVerifierTest, ARotatedTrailVerifiesWithBothKeysOrTheNewOneAlone) {
  EXPECT_TRUE(Verify(RotatedTrail(), BothKeys()).intact()) << Verify(RotatedTrail()).problem();
  AuditChainVerifier only_b = Verify(RotatedTrail(), OnlyB());
  EXPECT_TRUE(only_b.intact()) << only_b.problem();
}

TEST(AuditChainVerifierTest, AnEditUnderARetiredKeyIsCaughtByTheDigest) {
  Trail trail = RotatedTrail();
  trail.rows[2].entry.set_result_code(99);  // sequence 3, under A
  ExpectBrokenAt(Verify(trail, BothKeys()), 3, "with key A: its own hash");
  // Without key A nothing under it can be checked by hash (not even its key change at 1):
  // the digest sealed by B's key change catches the edit.
  ExpectBrokenAt(Verify(trail, OnlyB()), 1, "without key A: the digest of the key change");
}

TEST(AuditChainVerifierTest, EntriesUnderAnUnknownKeyWithNoLaterKeyChangeAreBroken) {
  Trail trail = RotatedTrail();
  trail.rows.resize(4);  // ends under key A
  trail.head =
      AuditHead{4, trail.rows.back().key_time_micros, trail.rows.back().entry.hash(), KeyA()};
  trail.chain_key = ChainKeyOf(KeyA());
  EXPECT_TRUE(Verify(trail, BothKeys()).intact());
  AuditChainVerifier verifier = Verify(trail, OnlyB());
  ASSERT_FALSE(verifier.intact());
}

TEST(AuditChainVerifierTest, AKeyChangeOutOfPlaceIsBroken) {
  Trail trail = BuildTrail(3);
  Append(trail, KeyChange(KeyB(), "", DigestOf(trail)), TrailKey(), KeyB());  // "" after 1
  ExpectBrokenAt(Verify(trail), 4, "a second beginning");
}

// ---- Anchors ----

TEST(AuditChainVerifierTest, AnchorsOnTheChainVerify) {
  const Trail trail = BuildTrail(10);
  AuditVerifierOptions options;
  options.anchors = {{3, trail.rows[2].entry.hash()}, {10, trail.rows[9].entry.hash()}};
  AuditChainVerifier verifier = Verify(trail, BothKeys(), options);
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
}

TEST(AuditChainVerifierTest, AnOlderCopyIsBehindItsAnchor) {
  // An older copy of the data directory is a complete, well-signed trail: only an anchor
  // recorded later shows that it went back.
  const Trail newer = BuildTrail(10);
  const Trail older = BuildTrail(7);
  ASSERT_TRUE(Verify(older).intact());
  AuditVerifierOptions options;
  options.anchors = {{10, newer.rows[9].entry.hash()}};
  AuditChainVerifier verifier = Verify(older, BothKeys(), options);
  ExpectBrokenAt(verifier, 8, "rolled back");
  EXPECT_THAT(verifier.problem(), ::testing::HasSubstr("anchor"));
}

TEST(AuditChainVerifierTest, AnAnchorWithAnotherHashIsBroken) {
  const Trail trail = BuildTrail(10);
  AuditVerifierOptions options;
  options.anchors = {{4, SampleHash('q')}};
  ExpectBrokenAt(Verify(trail, BothKeys(), options), 4, "anchor hash differs");
}

TEST(AuditChainVerifierTest, CatchesAKeyTimeThatDoesNotMatchTheEntry) {
  Trail trail = BuildTrail(10);
  trail.rows[6].key_time_micros += 1;  // sequence 7 stored under another time
  ExpectBrokenAt(Verify(trail), 7, "key time moved");
}

TEST(AuditChainVerifierTest, CatchesAnEntryTimeThatDoesNotMatchItsKey) {
  Trail trail = BuildTrail(10);
  v1::AuditEntry& entry = trail.rows[6].entry;  // sequence 7
  *entry.mutable_time() = TimeUtil::MicrosecondsToTimestamp(trail.rows[6].key_time_micros - 1);
  entry.set_hash(AuditEntryHash(entry, TrailKey()));
  ExpectBrokenAt(Verify(trail), 7, "entry time edited and re-hashed");
}

TEST(AuditChainVerifierTest, CatchesAnEntrySequenceThatDoesNotMatchItsKey) {
  Trail trail = BuildTrail(10);
  v1::AuditEntry& entry = trail.rows[6].entry;  // sequence 7
  entry.set_sequence(70);
  entry.set_hash(AuditEntryHash(entry, TrailKey()));
  ExpectBrokenAt(Verify(trail), 7, "entry sequence edited and re-hashed");
}

TEST(AuditChainVerifierTest, CatchesAnEntryStoredUnderAnotherSequenceKey) {
  Trail trail = BuildTrail(10);
  trail.rows[6].key_sequence = 70;  // entry 7 moved to key (time, 70)
  AuditChainVerifier verifier = Verify(trail);
  ASSERT_FALSE(verifier.intact());
  EXPECT_FALSE(verifier.problem().empty());
}

TEST(AuditChainVerifierTest, ReportsTheFirstOfSeveralBreaks) {
  Trail trail = BuildTrail(10);
  trail.rows[2].entry.set_peer("ipv4:10.9.9.9:1");  // sequence 3
  trail.rows.erase(trail.rows.begin() + 7);         // sequence 8
  trail.rows.pop_back();                            // sequence 10
  AuditChainVerifier verifier = Verify(trail);
  ExpectBrokenAt(verifier, 3, "edits at 3, 8 and 10");
  EXPECT_EQ(verifier.checked(), 8u);
}

}  // namespace
}  // namespace safeguarding::storage
