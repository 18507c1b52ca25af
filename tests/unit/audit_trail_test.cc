// The audit trail of a real store (storage/audit_trail.h): what opening writes (the first
// entry of a new trail, a new audit key, a record of damage), tampering with the closed
// database as someone with write access to the data directory but no key file would, reads
// with filters and pages, anchors, and the audit key file's own checks.
#include "storage/audit_trail.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "storage/key_encoding.h"
#include "storage/report_store.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

using ::testing::HasSubstr;
using testing::OpenTestStore;
using testing::RawDb;

void Record(ReportStore& store, const std::string& principal) {
  v1::AuditEntry e;
  e.set_principal(principal);
  e.set_method("/safeguarding.triage.v1.TriageDesk/GetReport");
  absl::Notification done;
  store.audit().Record(e, [&](absl::Status s) {
    EXPECT_TRUE(s.ok()) << s;
    done.Notify();
  });
  done.WaitForNotification();
}

AuditVerification VerifyOrDie(const ReportStore& store,
                              std::vector<AuditAnchorPoint> anchors = {}) {
  auto verified = store.audit().Verify(std::move(anchors));
  EXPECT_TRUE(verified.ok()) << verified.status();
  return verified.ok() ? *verified : AuditVerification{false, 0, 0, "verify failed"};
}

v1::AuditEntry Parse(const std::string& value) {
  v1::AuditEntry e;
  EXPECT_TRUE(e.ParseFromString(value));
  return e;
}

void WriteKeys(const std::string& path, const std::string& bytes) {
  std::filesystem::remove(path);
  std::ofstream(path, std::ios::binary) << bytes;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(AuditTrailOpenTest, ANewTrailBeginsWithItsKeyChange) {
  testing::TempDir dir;
  auto store = OpenTestStore(dir.Sub("db"));
  EXPECT_TRUE(store->audit_opening().problem.empty());
  EXPECT_FALSE(store->audit_opening().migrated);
  store.reset();
  RawDb raw(dir.Sub("db"));
  auto entries = raw.Audit();
  ASSERT_EQ(entries.size(), 1u);
  v1::AuditEntry first = Parse(entries[0].second);
  EXPECT_EQ(first.sequence(), 1u);
  EXPECT_EQ(first.method(), kAuditKeyChangeMethod);
  auto audit_keys = KeyRing::LoadFile(dir.Sub("db") + ".audit-key");
  ASSERT_TRUE(audit_keys.ok());
  EXPECT_EQ(first.key_change().key_id(), KeyIdHex(audit_keys->current_key_id()));
  EXPECT_EQ(first.key_change().previous_key_id(), "");
}

TEST(AuditTrailOpenTest, ReopeningASoundTrailWritesNothing) {
  testing::TempDir dir;
  OpenTestStore(dir.Sub("db")).reset();
  auto store = OpenTestStore(dir.Sub("db"));
  EXPECT_EQ(store->committed_audit_anchor().sequence, 1u);
  AuditVerification v = VerifyOrDie(*store);
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.entries_checked, 1u);
}

TEST(AuditTrailOpenTest, TheAuditKeyFileIsRequiredAndApartFromTheDataKeys) {
  testing::TempDir dir;
  StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
  options.audit_key_file = "";
  EXPECT_THAT(ReportStore::Open(options).status().message(), HasSubstr("--audit_key_file"));
  options.audit_key_file = dir.Sub("missing-audit-key");
  auto missing = ReportStore::Open(options);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("head -c 32 /dev/urandom"));
  options.audit_key_file = options.key_file;  // the data key again
  auto same = ReportStore::Open(options);
  EXPECT_EQ(same.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(same.status().message(), HasSubstr("a key of its own"));
}

TEST(AuditTrailOpenTest, AWrongAuditKeyFileIsAClearError) {
  testing::TempDir dir;
  OpenTestStore(dir.Sub("db")).reset();
  StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
  options.audit_key_file = testing::TestAuditKeyFile(dir.Sub("other"));
  auto store = ReportStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("wrong --audit_key_file"));
}

TEST(AuditTrailOpenTest, ANewAuditKeyIsRecordedAndTheOldOneCanThenBeRemoved) {
  testing::TempDir dir;
  const std::string audit_key_file = testing::TestAuditKeyFile(dir.Sub("db"));
  {
    auto store = OpenTestStore(dir.Sub("db"));
    for (int i = 0; i < 5; ++i) Record(*store, absl::StrCat("before-", i));
  }
  const std::string old_key = ReadBytes(audit_key_file);
  const std::string new_key(32, 'N');
  WriteKeys(audit_key_file, old_key + new_key);  // appended: current from the next start
  {
    auto store = OpenTestStore(dir.Sub("db"));
    Record(*store, "after");
    AuditVerification v = VerifyOrDie(*store);
    EXPECT_TRUE(v.intact) << v.problem;
    EXPECT_EQ(v.entries_checked, 8u);  // 1 + 5 + the key change + 1
  }
  {
    RawDb raw(dir.Sub("db"));
    v1::AuditEntry change = Parse(raw.Audit()[6].second);
    ASSERT_TRUE(change.has_key_change());
    auto ring = KeyRing::FromKeys({new_key});
    EXPECT_EQ(change.key_change().key_id(), KeyIdHex(ring->current_key_id()));
    auto old_ring = KeyRing::FromKeys({old_key});
    EXPECT_EQ(change.key_change().previous_key_id(), KeyIdHex(old_ring->current_key_id()));
  }
  WriteKeys(audit_key_file, new_key);  // the old audit key retired
  auto store = OpenTestStore(dir.Sub("db"));
  AuditVerification v = VerifyOrDie(*store);
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.entries_checked, 8u);
}

// Ten accesses on a new store: entries 2..11 after the key change at 1.
class AuditTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenTestStore(dir_.Sub("db"));
    for (int i = 1; i <= 10; ++i) Record(*store, absl::StrCat("user-", i));
    AuditVerification v = VerifyOrDie(*store);
    ASSERT_TRUE(v.intact) << v.problem;
    ASSERT_EQ(v.entries_checked, 11u);
  }

  // Reopens (which records damage it finds) and verifies.
  AuditVerification VerifyAfterReopen() {
    auto store = OpenTestStore(dir_.Sub("db"));
    problem_at_open_ = store->audit_opening().problem;
    return VerifyOrDie(*store);
  }

  testing::TempDir dir_;
  std::string problem_at_open_;
};

TEST_F(AuditTamperTest, AnEditedEntryIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    auto entries = raw.Audit();
    v1::AuditEntry e = Parse(entries[4].second);  // sequence 5
    e.set_principal("someone-else");              // hide who read the report
    raw.Put(ColumnFamily::kAudit, entries[4].first, e.SerializeAsString());
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 5u);
  EXPECT_THAT(v.problem, HasSubstr("edited"));
}

// Without the audit key, whoever edits an entry cannot compute its keyed hash; rewriting
// the whole chain (and the head) with any other key is caught at the first entry.
TEST_F(AuditTamperTest, ARewrittenChainWithoutTheKeyIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    std::string previous(kAuditHashBytes, '\0');
    AuditHead head;
    for (const auto& [key, value] : raw.Audit()) {
      v1::AuditEntry e = Parse(value);
      e.set_principal("someone-else");
      e.set_previous_hash(previous);
      e.set_hash(AuditEntryHash(e, "a guessed key"));
      previous = e.hash();
      head = AuditHead{e.sequence(),
                       google::protobuf::util::TimeUtil::TimestampToMicroseconds(e.time()),
                       e.hash(), 0};
      raw.Put(ColumnFamily::kAudit, key, e.SerializeAsString());
    }
    // A head naming a key id the file does not hold: no entry verifies either, so the
    // server cannot tell this from a wrong --audit_key_file, and refuses to start.
    raw.Put(ColumnFamily::kMeta, kAuditHeadKey, EncodeSignedHead(head, "a guessed key"));
  }
  auto refused = ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("rewritten outside the server"));
  {
    // Naming our key id instead: the signature fails, and every entry with it.
    RawDb raw(dir_.Sub("db"));
    auto stored = DecodeStoredHead(raw.Get(ColumnFamily::kMeta, kAuditHeadKey));
    ASSERT_TRUE(stored.has_value());
    AuditHead head = stored->head;
    head.key_id = KeyRing::LoadFile(dir_.Sub("db") + ".audit-key")->current_key_id();
    raw.Put(ColumnFamily::kMeta, kAuditHeadKey, EncodeSignedHead(head, "a guessed key"));
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 1u);
}

TEST_F(AuditTamperTest, ARemovedEntryIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    raw.Delete(ColumnFamily::kAudit, raw.Audit()[6].first);  // sequence 7
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 7u);
}

// An emptied trail under a head signed with an unknown key: nothing in the data directory
// verifies under the audit key file, which is what a wrong --audit_key_file looks like,
// so the server refuses to start (it neither crashes nor starts on a trail it cannot
// check).
TEST_F(AuditTamperTest, AnEmptiedTrailUnderAHeadOfAnUnknownKeyRefusesTheStart) {
  {
    RawDb raw(dir_.Sub("db"));
    for (const auto& [key, value] : raw.Audit()) raw.Delete(ColumnFamily::kAudit, key);
    auto stored = DecodeStoredHead(raw.Get(ColumnFamily::kMeta, kAuditHeadKey));
    ASSERT_TRUE(stored.has_value());
    AuditHead head = stored->head;
    head.key_id ^= 0x5a5a5a5a;  // a key the file does not hold
    raw.Put(ColumnFamily::kMeta, kAuditHeadKey, EncodeSignedHead(head, "a guessed key"));
  }
  auto refused = ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("wrong --audit_key_file"));
}

TEST_F(AuditTamperTest, ReorderedEntriesAreDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    auto entries = raw.Audit();
    raw.Put(ColumnFamily::kAudit, entries[2].first, entries[3].second);
    raw.Put(ColumnFamily::kAudit, entries[3].first, entries[2].second);
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 3u);
}

TEST_F(AuditTamperTest, ARemovedTailIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    raw.Delete(ColumnFamily::kAudit, raw.Audit()[10].first);  // sequence 11, the newest
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_THAT(problem_at_open_, HasSubstr("ends at sequence 10"));
  EXPECT_THAT(v.problem, HasSubstr("damaged"));
}

// Issue 7: delete the newest entry and set the head to the one before (its sequence, time
// and hash are readable from it). In the old unsigned format or signed with a guess, the
// head fails; reopening records the damage in the trail, so it stays reported.
TEST_F(AuditTamperTest, ACutTailWithARewrittenHeadIsDetectedAndStaysOnRecord) {
  for (bool legacy_format : {true, false}) {
    SCOPED_TRACE(legacy_format ? "unsigned head" : "head signed with a guessed key");
    testing::TempDir dir;
    std::filesystem::copy(dir_.Sub("db"), dir.Sub("db"), std::filesystem::copy_options::recursive);
    std::filesystem::copy(dir_.Sub("db") + ".key", dir.Sub("db") + ".key");
    std::filesystem::copy(dir_.Sub("db") + ".audit-key", dir.Sub("db") + ".audit-key");
    {
      RawDb raw(dir.Sub("db"));
      auto entries = raw.Audit();
      v1::AuditEntry before_last = Parse(entries[9].second);  // sequence 10
      raw.Delete(ColumnFamily::kAudit, entries[10].first);
      AuditHead head{10,
                     google::protobuf::util::TimeUtil::TimestampToMicroseconds(before_last.time()),
                     before_last.hash(), 0};
      std::string stored;
      if (legacy_format) {
        PutFixed64BE(&stored, head.sequence);
        PutFixed64BE(&stored, OrderedFromMicros(head.time_micros));
        stored.append(head.hash);
      } else {
        head.key_id = KeyRing::LoadFile(dir.Sub("db") + ".audit-key")->current_key_id();
        stored = EncodeSignedHead(head, "a guessed key");
      }
      raw.Put(ColumnFamily::kMeta, kAuditHeadKey, stored);
    }
    {
      auto store = OpenTestStore(dir.Sub("db"));
      EXPECT_THAT(store->audit_opening().problem, HasSubstr("chain head"));
      AuditVerification v = VerifyOrDie(*store);
      EXPECT_FALSE(v.intact);
      EXPECT_THAT(v.problem, HasSubstr("damaged"));
      Record(*store, "later");  // the trail goes on, the damage stays on record
    }
    auto store = OpenTestStore(dir.Sub("db"));
    EXPECT_TRUE(store->audit_opening().problem.empty()) << "recorded once, not at every start";
    AuditVerification v = VerifyOrDie(*store);
    EXPECT_FALSE(v.intact);
    EXPECT_THAT(v.problem, HasSubstr("chain head"));
  }
}

// Issue 7: delete every entry and the head while the reports stay.
TEST_F(AuditTamperTest, AnEmptiedTrailWithoutItsHeadIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    raw.Put(ColumnFamily::kReports, std::string(16, 'r'), "a report");  // reports stay
    for (const auto& [key, value] : raw.Audit()) raw.Delete(ColumnFamily::kAudit, key);
    raw.Delete(ColumnFamily::kMeta, kAuditHeadKey);
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_THAT(problem_at_open_, HasSubstr("chain head is missing"));
  EXPECT_THAT(v.problem, HasSubstr("damaged"));
}

TEST_F(AuditTamperTest, AnEmptiedTrailWithItsHeadKeptIsDetected) {
  {
    RawDb raw(dir_.Sub("db"));
    for (const auto& [key, value] : raw.Audit()) raw.Delete(ColumnFamily::kAudit, key);
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_THAT(problem_at_open_, HasSubstr("ends at sequence 0"));
}

TEST_F(AuditTamperTest, NewEntriesAfterReopenContinueTheChain) {
  auto store = OpenTestStore(dir_.Sub("db"));
  Record(*store, "after reopen");
  AuditVerification v = VerifyOrDie(*store);
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.entries_checked, 12u);
  EXPECT_EQ(v.head.sequence, 12u);
  EXPECT_EQ(store->committed_audit_anchor().ToString(), v.head.ToString());
}

// Review finding: adding an audit key must not seal a trail that was forged meanwhile (here
// the key change at 1 stripped so nothing checks the entries, and one entry edited).
TEST_F(AuditTamperTest, ANewAuditKeyDoesNotSealAForgedTrail) {
  {
    RawDb raw(dir_.Sub("db"));
    auto entries = raw.Audit();
    v1::AuditEntry first = Parse(entries[0].second);
    first.clear_key_change();
    first.clear_method();
    first.clear_principal();
    raw.Put(ColumnFamily::kAudit, entries[0].first, first.SerializeAsString());
    v1::AuditEntry edited = Parse(entries[3].second);
    edited.set_principal("nobody-was-here");
    raw.Put(ColumnFamily::kAudit, entries[3].first, edited.SerializeAsString());
  }
  const std::string audit_key_file = dir_.Sub("db") + ".audit-key";
  WriteKeys(audit_key_file, ReadBytes(audit_key_file) + std::string(32, 'N'));
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_THAT(problem_at_open_, HasSubstr("new audit key"));
}

// Review finding: a key change's previous key must be the key of the section it closes.
TEST_F(AuditTamperTest, ServerEntriesAreOnlyTrustedInTheirOwnShape) {
  {
    RawDb raw(dir_.Sub("db"));
    auto entries = raw.Audit();
    v1::AuditEntry e = Parse(entries[5].second);    // an access at sequence 6
    e.mutable_trail_break()->set_problem("decoy");  // not the server's shape: refused
    raw.Put(ColumnFamily::kAudit, entries[5].first, e.SerializeAsString());
  }
  AuditVerification v = VerifyAfterReopen();
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 6u);
  EXPECT_THAT(v.problem, HasSubstr("did not write"));
}

TEST_F(AuditTamperTest, AnEntryKeyedBeyondYear9999RefusesTheStartInsteadOfCrashing) {
  {
    RawDb raw(dir_.Sub("db"));
    raw.Put(ColumnFamily::kAudit, AuditKey(std::numeric_limits<int64_t>::max(), 99), "x");
  }
  auto refused = ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("9999"));
}

TEST_F(AuditTamperTest, AnEntryKeyedAtTheEarliestTimeDoesNotHangTheAnchorCheck) {
  AuditAnchorPoint anchor;
  {
    auto store = OpenTestStore(dir_.Sub("db"));
    anchor = store->committed_audit_anchor();
  }
  {
    RawDb raw(dir_.Sub("db"));
    raw.Put(ColumnFamily::kAudit, AuditKey(std::numeric_limits<int64_t>::min(), 0), "x");
  }
  StoreOptions options = testing::TestStoreOptions(dir_.Sub("db"));
  options.audit_anchor = anchor;
  // The search over time ends and still finds the anchor's entry; the stray first record
  // is damage that verification reports.
  auto store = ReportStore::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  AuditVerification v = VerifyOrDie(**store);
  EXPECT_FALSE(v.intact);
  EXPECT_EQ(v.first_bad_sequence, 1u) << v.problem;
}

// Review finding: the record of which data keys are in use is signed; a rewritten one counts
// every key as in use rather than calling one retired.
TEST_F(AuditTamperTest, AForgedDataKeysInUseRecordRetiresNothing) {
  {
    // A report sealed with the first key.
    auto store = OpenTestStore(dir_.Sub("db"));
    absl::Notification done;
    store->reports().Submit(testing::SampleNewReport("intake-app", "r1", "fp"),
                            [&](absl::StatusOr<v1::SubmitReportResponse> r) {
                              EXPECT_TRUE(r.ok()) << r.status();
                              done.Notify();
                            });
    done.WaitForNotification();
  }
  const std::string key_file = dir_.Sub("db") + ".key";
  WriteKeys(key_file, ReadBytes(key_file) + std::string(32, 'D'));  // a second key, current
  {
    auto store = OpenTestStore(dir_.Sub("db"));
    auto keys = store->keys().Status();
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_TRUE(keys[0].in_use && keys[1].in_use);
  }
  {
    RawDb raw(dir_.Sub("db"));
    auto ring = KeyRing::LoadFile(key_file);
    std::string forged;
    PutFixed32BE(&forged, ring->current_key_id());  // "only the current key is in use"
    forged.append(std::string(32, '\0'));           // no valid MAC
    raw.Put(ColumnFamily::kMeta, "data_keys_in_use", forged);
  }
  // The record does not verify: the reports themselves show the first key still seals one.
  auto store = OpenTestStore(dir_.Sub("db"));
  for (const DataKeyStatus& key : store->keys().Status()) EXPECT_TRUE(key.in_use) << key.id;
}

// ---- Anchors ----

TEST_F(AuditTamperTest, AnchorsOnTheChainVerifyAndAreFoundBySeeking) {
  auto store = OpenTestStore(dir_.Sub("db"));
  AuditAnchorPoint head = store->committed_audit_anchor();
  std::vector<AuditAnchorPoint> anchors;
  {
    auto page = store->audit().Read(AuditQuery{.page_size = 100});
    ASSERT_TRUE(page.ok());
    for (const v1::AuditEntry& e : page->entries) {
      anchors.push_back({e.sequence(), e.hash()});
      EXPECT_TRUE(store->audit().CheckAnchor(anchors.back()).ok()) << e.sequence();
    }
  }
  ASSERT_EQ(anchors.size(), 11u);
  EXPECT_EQ(anchors.back().ToString(), head.ToString());
  AuditVerification v = VerifyOrDie(*store, anchors);
  EXPECT_TRUE(v.intact) << v.problem;
  EXPECT_EQ(v.anchors_checked, 11u);

  AuditAnchorPoint wrong{5, std::string(32, 'x')};
  EXPECT_THAT(store->audit().CheckAnchor(wrong).message(), HasSubstr("does not match"));
  EXPECT_FALSE(VerifyOrDie(*store, {wrong}).intact);
  AuditAnchorPoint beyond{12, head.hash};
  absl::Status behind = store->audit().CheckAnchor(beyond);
  EXPECT_EQ(behind.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(behind.message(), HasSubstr("older than the last anchor"));
}

// An older copy of the data directory is a complete, well-signed trail on its own; only
// an anchor taken later shows it went back.
TEST_F(AuditTamperTest, AnOlderCopyOfTheDataDirectoryIsBehindALaterAnchor) {
  testing::TempDir copy;
  std::filesystem::copy(dir_.Sub("db"), copy.Sub("db"), std::filesystem::copy_options::recursive);
  AuditAnchorPoint later;
  {
    auto store = OpenTestStore(dir_.Sub("db"));
    for (int i = 0; i < 3; ++i) Record(*store, "read after the copy");
    later = store->committed_audit_anchor();
  }
  std::filesystem::remove_all(dir_.Sub("db"));
  std::filesystem::copy(copy.Sub("db"), dir_.Sub("db"), std::filesystem::copy_options::recursive);
  auto store = OpenTestStore(dir_.Sub("db"));
  EXPECT_TRUE(store->audit_opening().problem.empty());
  EXPECT_TRUE(VerifyOrDie(*store).intact) << "without an anchor the copy looks sound";
  AuditVerification v = VerifyOrDie(*store, {later});
  EXPECT_FALSE(v.intact);
  EXPECT_THAT(v.problem, HasSubstr("anchor"));
  EXPECT_EQ(store->audit().CheckAnchor(later).code(), absl::StatusCode::kFailedPrecondition);
}

// ---- Reads ----

TEST(AuditLogReadTest, FiltersByReportPrincipalAndTimeAndPages) {
  testing::TempDir dir;
  constexpr int64_t kStart = 1'767'225'600'000'000;
  int64_t now_micros = kStart;  // commit times come from this clock
  StoreOptions options = testing::TestStoreOptions(dir.Sub("db"));
  options.commit.now = [&] { return absl::FromUnixMicros(now_micros); };
  auto store = OpenTestStore(options);  // entry 1, the key change, at kStart
  now_micros += 1'000'000;
  const std::string report_a = ReportId::Generate(absl::Now()).ToString();
  const std::string report_b = ReportId::Generate(absl::Now()).ToString();
  for (int i = 0; i < 30; ++i) {
    v1::AuditEntry e;
    e.set_principal(i % 3 == 0 ? "alice" : "bob");
    e.set_report_id(i % 2 == 0 ? report_a : report_b);
    absl::Notification done;
    store->audit().Record(e, [&](absl::Status s) {
      EXPECT_TRUE(s.ok());
      done.Notify();
    });
    done.WaitForNotification();
    now_micros += 1'000'000;  // one entry a second
  }
  auto read = [&](AuditQuery q) {
    std::vector<v1::AuditEntry> all;
    int pages = 0;
    for (;;) {
      auto page = store->audit().Read(q);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      ++pages;
      all.insert(all.end(), page->entries.begin(), page->entries.end());
      if (page->next_page_token.empty()) break;
      q.page_token = page->next_page_token;
    }
    return std::make_pair(all, pages);
  };
  auto [everything, pages] = read(AuditQuery{.page_size = 7});
  EXPECT_EQ(everything.size(), 31u);
  EXPECT_EQ(pages, 5);
  for (size_t i = 0; i < everything.size(); ++i) EXPECT_EQ(everything[i].sequence(), i + 1);

  auto [by_report, unused1] = read(AuditQuery{.report_id = report_a, .page_size = 4});
  EXPECT_EQ(by_report.size(), 15u);
  for (const auto& e : by_report) EXPECT_EQ(e.report_id(), report_a);

  auto [by_principal, unused2] = read(AuditQuery{.principal = "alice"});
  EXPECT_EQ(by_principal.size(), 10u);

  // Accesses 11..20 (one a second from kStart + 1 s): [kStart + 11 s, kStart + 21 s).
  auto [window, unused3] = read(AuditQuery{.start = absl::FromUnixMicros(kStart + 11'000'000),
                                           .end = absl::FromUnixMicros(kStart + 21'000'000)});
  ASSERT_EQ(window.size(), 10u);
  EXPECT_EQ(window.front().sequence(), 12u);
  EXPECT_EQ(window.back().sequence(), 21u);

  auto bad = store->audit().Read(AuditQuery{.page_token = "not-a-token"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

// "Who has read or changed this report?" is answered from the audit_by_report index,
// written in the same batch as each entry, and a trail from before the index existed is
// indexed once at open.
TEST(AuditLogReadTest, ByReportComesFromTheIndexAndAnOlderTrailIsIndexedAtOpen) {
  testing::TempDir dir;
  const std::string report = ReportId::Generate(absl::Now()).ToString();
  {
    auto store = OpenTestStore(dir.Sub("db"));
    for (int i = 0; i < 5; ++i) {
      v1::AuditEntry e;
      e.set_principal(absl::StrCat("user-", i));
      e.set_report_id(i % 2 == 0 ? report : "");
      absl::Notification done;
      store->audit().Record(e, [&](absl::Status s) {
        EXPECT_TRUE(s.ok()) << s;
        done.Notify();
      });
      done.WaitForNotification();
    }
    AuditQuery query;
    query.report_id = report;
    auto page = store->audit().Read(query);
    ASSERT_TRUE(page.ok()) << page.status();
    ASSERT_EQ(page->entries.size(), 3u);
    EXPECT_EQ(page->entries[2].principal(), "user-4");
  }
  {
    RawDb raw(dir.Sub("db"));
    for (const auto& [key, value] : raw.All(ColumnFamily::kAuditByReport)) {
      raw.Delete(ColumnFamily::kAuditByReport, key);
    }
  }
  {
    // With the index emptied (and marked done) the query finds nothing: it reads the index.
    auto store = OpenTestStore(dir.Sub("db"));
    AuditQuery query;
    query.report_id = report;
    auto page = store->audit().Read(query);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_TRUE(page->entries.empty());
  }
  {
    // Without the marker, as on a store of the previous release: indexed again at open.
    RawDb raw(dir.Sub("db"));
    raw.Delete(ColumnFamily::kMeta, "audit_by_report_indexed");
  }
  auto store = OpenTestStore(dir.Sub("db"));
  AuditQuery query;
  query.report_id = report;
  query.page_size = 2;
  auto first = store->audit().Read(query);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->entries.size(), 2u);
  ASSERT_FALSE(first->next_page_token.empty());
  query.page_token = first->next_page_token;
  auto second = store->audit().Read(query);
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_EQ(second->entries.size(), 1u);
  EXPECT_EQ(second->entries[0].principal(), "user-4");
  EXPECT_TRUE(second->next_page_token.empty());
}

}  // namespace
}  // namespace safeguarding::storage
