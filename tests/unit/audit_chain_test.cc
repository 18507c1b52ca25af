// Tests of storage/audit_chain.h: the head's encoding, the entry hash (covers every field
// but `hash`), and the verifier on a trail built the way the committer builds it, intact and
// then tampered with in each way the header promises to catch.
#include "storage/audit_chain.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"

namespace safeguarding::storage {
namespace {

constexpr char kChainKey[] = "test audit chain key, 32 bytes!";

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

// ---- AuditHead ----

TEST(AuditHeadTest, EncodeDecodeRoundTrips) {
  const std::vector<AuditHead> heads = {
      AuditHead{},                                                           // no entries yet
      AuditHead{1, kBaseMicros, SampleHash('a')},                            // the first entry
      AuditHead{0xFFFFFFFFFFFFFFFFull, -1, SampleHash('A')},                 // extremes
      AuditHead{1234567, -62'135'596'800'000'000, std::string(32, '\xff')},  // year 1
  };
  for (const AuditHead& head : heads) {
    const std::string encoded = head.Encode();
    EXPECT_EQ(encoded.size(), 8u + 8u + 32u);
    std::optional<AuditHead> decoded = AuditHead::Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << head.sequence;
    EXPECT_EQ(decoded->sequence, head.sequence);
    EXPECT_EQ(decoded->time_micros, head.time_micros);
    EXPECT_EQ(Hex(decoded->hash), Hex(head.hash));
  }
}

TEST(AuditHeadTest, DefaultHeadIsEmptyWithAZeroHash) {
  AuditHead head;
  EXPECT_EQ(head.sequence, 0u);
  EXPECT_EQ(Hex(head.hash), Hex(ZeroHash()));
}

TEST(AuditHeadTest, DecodeRejectsWrongLengths) {
  const std::string good = AuditHead{5, kBaseMicros, SampleHash('a')}.Encode();
  ASSERT_EQ(good.size(), 48u);
  for (size_t length : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{15}, size_t{16},
                        size_t{17}, size_t{47}}) {
    EXPECT_FALSE(AuditHead::Decode(good.substr(0, length)).has_value()) << length;
  }
  EXPECT_FALSE(AuditHead::Decode(good + "x").has_value());
  EXPECT_FALSE(AuditHead::Decode(good + good).has_value());
}

// ---- AuditEntryHash ----

TEST(AuditEntryHashTest, IsA32ByteHmacSha256OfTheEntryWithoutItsHash) {
  v1::AuditEntry entry = SampleEntry();
  const std::string serialized = entry.SerializeAsString();  // `hash` not set yet
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  ASSERT_NE(HMAC(EVP_sha256(), kChainKey, static_cast<int>(strlen(kChainKey)),
                 reinterpret_cast<const unsigned char*>(serialized.data()), serialized.size(),
                 digest, &length),
            nullptr);
  const std::string expected(reinterpret_cast<const char*>(digest), length);
  EXPECT_EQ(AuditEntryHash(entry, kChainKey).size(), kAuditHashBytes);
  EXPECT_EQ(Hex(AuditEntryHash(entry, kChainKey)), Hex(expected));
}

TEST(AuditEntryHashTest, DependsOnTheKey) {
  v1::AuditEntry entry = SampleEntry();
  EXPECT_NE(Hex(AuditEntryHash(entry, kChainKey)), Hex(AuditEntryHash(entry, "another key")));
}

TEST(AuditEntryHashTest, IsDeterministic) {
  const v1::AuditEntry a = SampleEntry();
  const v1::AuditEntry b = SampleEntry();
  EXPECT_EQ(Hex(AuditEntryHash(a, kChainKey)), Hex(AuditEntryHash(b, kChainKey)));
}

TEST(AuditEntryHashTest, IgnoresTheHashField) {
  v1::AuditEntry entry = SampleEntry();
  const std::string before = AuditEntryHash(entry, kChainKey);
  entry.set_hash(SampleHash('z'));
  EXPECT_EQ(Hex(AuditEntryHash(entry, kChainKey)), Hex(before));
  entry.set_hash(before);
  EXPECT_EQ(Hex(AuditEntryHash(entry, kChainKey)), Hex(before));
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
  const std::string before = AuditEntryHash(original, kChainKey);
  for (const FieldEdit& f : FieldEdits()) {
    v1::AuditEntry edited = original;
    f.edit(edited);
    EXPECT_NE(Hex(AuditEntryHash(edited, kChainKey)), Hex(before)) << f.field;
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
};

// Links `entry` after `previous_hash` and hashes it, as storage/committer.cc does.
void Seal(v1::AuditEntry& entry, const std::string& previous_hash) {
  entry.set_previous_hash(previous_hash);
  entry.set_hash(AuditEntryHash(entry, kChainKey));
}

// A trail of `n` entries, sequence 1..n, times non-decreasing (some equal), varied fields.
Trail BuildTrail(int n) {
  const v1::Role roles[] = {v1::ROLE_INTAKE, v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR,
                            v1::ROLE_MONITOR, v1::ROLE_ADMIN};
  Trail trail;
  std::string previous = ZeroHash();
  for (int i = 1; i <= n; ++i) {
    const int64_t micros = kBaseMicros + (i / 3) * 1500;
    v1::AuditEntry entry;
    entry.set_sequence(static_cast<uint64_t>(i));
    *entry.mutable_time() = TimeUtil::MicrosecondsToTimestamp(micros);
    entry.set_principal(absl::StrCat("user-", i % 4));
    entry.set_role(roles[i % 5]);
    entry.set_method(i % 2 == 0 ? "/safeguarding.triage.v1.TriageDesk/GetReport"
                                : "/safeguarding.triage.v1.ReportIntake/SubmitReport");
    if (i % 3 != 0) entry.set_report_id(absl::StrCat("01HF00000000000000000000", 10 + i));
    entry.set_result_code(i % 4 == 0 ? 7 : 0);
    entry.set_peer(absl::StrCat("ipv4:127.0.0.1:", 50000 + i));
    Seal(entry, previous);
    previous = entry.hash();
    trail.rows.push_back(Row{micros, static_cast<uint64_t>(i), entry});
  }
  if (n > 0) {
    trail.head.sequence = static_cast<uint64_t>(n);
    trail.head.time_micros = trail.rows.back().key_time_micros;
    trail.head.hash = trail.rows.back().entry.hash();
  }
  return trail;
}

AuditChainVerifier Verify(const std::vector<Row>& rows, const AuditHead& head) {
  AuditChainVerifier verifier(kChainKey);
  for (const Row& row : rows) verifier.Add(row.entry, row.key_time_micros, row.key_sequence);
  verifier.Finish(head);
  return verifier;
}

AuditChainVerifier Verify(const Trail& trail) { return Verify(trail.rows, trail.head); }

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

TEST(AuditChainVerifierTest, AnUntouchedTrailIsIntactWithItsHeadDecodedFromStorage) {
  const Trail trail = BuildTrail(10);
  std::optional<AuditHead> head = AuditHead::Decode(trail.head.Encode());
  ASSERT_TRUE(head.has_value());
  AuditChainVerifier verifier = Verify(trail.rows, *head);
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
}

TEST(AuditChainVerifierTest, AnEmptyTrailWithADefaultHeadIsIntact) {
  AuditChainVerifier verifier = Verify({}, AuditHead{});
  EXPECT_TRUE(verifier.intact()) << verifier.problem();
  EXPECT_EQ(verifier.checked(), 0u);
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
    entry.set_hash(AuditEntryHash(entry, kChainKey));
    ExpectBrokenAt(Verify(trail), 5, field);
  }
}

TEST(AuditChainVerifierTest, CatchesAnEditedLastEntryRehashedByTheHead) {
  Trail trail = BuildTrail(10);
  v1::AuditEntry& last = trail.rows.back().entry;
  last.set_result_code(0);
  last.set_principal("someone-else");
  last.set_hash(AuditEntryHash(last, kChainKey));
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
    row.entry.set_hash(AuditEntryHash(row.entry, kChainKey));
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
  const Trail trail = BuildTrail(10);
  ExpectBrokenAt(Verify({}, trail.head), 1, "all entries removed");
}

TEST(AuditChainVerifierTest, CatchesEntriesBeyondTheHead) {
  // Entries 9 and 10 are well linked, but the head vouches only for 1..8.
  const Trail trail = BuildTrail(10);
  const Trail shorter = BuildTrail(8);
  ExpectBrokenAt(Verify(trail.rows, shorter.head), 9, "entries appended after the head");
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
  entry.set_hash(AuditEntryHash(entry, kChainKey));
  ExpectBrokenAt(Verify(trail), 7, "entry time edited and re-hashed");
}

TEST(AuditChainVerifierTest, CatchesAnEntrySequenceThatDoesNotMatchItsKey) {
  Trail trail = BuildTrail(10);
  v1::AuditEntry& entry = trail.rows[6].entry;  // sequence 7
  entry.set_sequence(70);
  entry.set_hash(AuditEntryHash(entry, kChainKey));
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
