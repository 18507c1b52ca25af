// The record of a restore (storage/restore_record.h) as a real store opens it: written into
// the audit trail once, and only when it fits the directory it lies in. Whoever can write
// the data directory can write the file, so every field is checked, its audit head must be
// on the trail, and a backup of its id in --backup_dir must match; a record that fails is
// refused before anything is written. The verifier trusts a restore only in the server's
// shape.
#include "storage/restore_record.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "storage/audit_chain.h"
#include "storage/audit_keys.h"
#include "storage/backup.h"
#include "storage/report_store.h"
#include "tests/support/raw_db.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::HasSubstr;
using testing::OpenTestStore;
using testing::RawDb;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::filesystem::remove(path);
  std::ofstream(path, std::ios::binary) << bytes;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// What `triagectl admin restore` leaves in the directory it restored, of a backup whose
// audit head is `head`, taken an hour ago and restored now (after every entry so far).
v1::BackupRestore SampleRestore(const AuditAnchorPoint& head) {
  const absl::Time now = absl::Now();
  v1::BackupRestore record;
  record.set_backup_id("3");
  *record.mutable_backup_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now - absl::Hours(1)));
  record.set_backup_audit_sequence(head.sequence);
  record.set_backup_audit_hash(head.hash);
  *record.mutable_restored_at() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
  record.set_restored_by("uid 1000 (operator)");
  record.set_anchor_before("none");
  return record;
}

KeyRing AuditKeysOf(const std::string& db) {
  absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(testing::TestAuditKeyFile(db));
  if (!ring.ok()) throw std::runtime_error(ring.status().ToString());
  return *ring;
}

// As triagectl admin restore does: sealed with the store's audit key, then written.
void LeaveSealed(const std::string& db, v1::BackupRestore record) {
  SealRestoreRecord(AuditKeysOf(db), record);
  std::filesystem::remove(db + "/" + kRestoreRecordFile);
  absl::Status written = WriteRestoreRecord(db, record);
  if (!written.ok()) throw std::runtime_error(written.ToString());
}

std::vector<v1::AuditEntry> RestoreEntries(const std::string& path) {
  std::vector<v1::AuditEntry> found;
  RawDb raw(path);
  for (const auto& [key, value] : raw.Audit()) {
    v1::AuditEntry entry;
    EXPECT_TRUE(entry.ParseFromString(value));
    if (entry.has_restore()) found.push_back(entry);
  }
  return found;
}

size_t AuditEntryCount(const std::string& path) { return RawDb(path).Audit().size(); }

// A store with a trail of one entry and the restore record `record` in its directory.
class RestoreRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenTestStore(db_);
    ASSERT_NE(store, nullptr);
    first_entry_ = store->committed_audit_anchor();
  }

  v1::BackupRestore Sample() const { return SampleRestore(first_entry_); }
  void Leave(const v1::BackupRestore& record) { LeaveSealed(db_, record); }
  // Written as it is, seal or none.
  void LeaveAsItIs(const v1::BackupRestore& record) {
    std::filesystem::remove(file_);
    ASSERT_TRUE(WriteRestoreRecord(db_, record).ok());
  }

  // Opens with the record left in the directory: refused, with nothing written and the
  // file kept. Returns the message.
  std::string Refused(const StoreOptions& options) {
    const size_t entries = AuditEntryCount(db_);
    auto refused = ReportStore::Open(options);
    EXPECT_FALSE(refused.ok());
    EXPECT_EQ(AuditEntryCount(db_), entries) << "a refused start writes nothing";
    EXPECT_TRUE(std::filesystem::exists(file_)) << "the record stays, for the incident";
    return std::string(refused.status().message());
  }
  std::string Refused() { return Refused(testing::TestStoreOptions(db_)); }

  testing::TempDir dir_;
  const std::string db_ = dir_.Sub("db");
  const std::string file_ = db_ + "/" + kRestoreRecordFile;
  AuditAnchorPoint first_entry_;
};

// The first open after a restore writes its record into the trail and removes the file; an
// open that wrote it and stopped before the removal (the file still there) writes nothing
// more, and removes it.
TEST_F(RestoreRecordTest, ARestoreIsRecordedInTheTrailOnceAtTheNextOpen) {
  const v1::BackupRestore sample = Sample();
  Leave(sample);
  const std::string bytes = ReadBytes(file_);
  {
    auto store = OpenTestStore(db_);
    AuditVerification v = *store->audit().Verify({});
    EXPECT_TRUE(v.intact) << v.problem;
    ASSERT_TRUE(store->audit_opening().restore_recorded.has_value());
    EXPECT_EQ(store->audit_opening().restore_recorded->backup_id(), "3");
  }
  EXPECT_FALSE(std::filesystem::exists(file_));
  std::vector<v1::AuditEntry> restores = RestoreEntries(db_);
  ASSERT_EQ(restores.size(), 1u);
  EXPECT_EQ(restores[0].sequence(), 2u) << "right after the trail's first entry";
  EXPECT_EQ(restores[0].principal(), kAuditServerPrincipal);
  EXPECT_EQ(restores[0].method(), kAuditRestoreMethod);
  v1::BackupRestore expected = sample;
  SealRestoreRecord(AuditKeysOf(db_), expected);
  expected.set_backup_check(v1::BACKUP_CHECK_NO_BACKUP_DIR);
  EXPECT_EQ(restores[0].restore().SerializeAsString(), expected.SerializeAsString());

  WriteBytes(file_, bytes);  // as a start cut short between the commit and the removal leaves
  EXPECT_FALSE(OpenTestStore(db_)->audit_opening().restore_recorded.has_value());
  EXPECT_FALSE(std::filesystem::exists(file_));
  EXPECT_EQ(RestoreEntries(db_).size(), 1u);

  v1::BackupRestore again = Sample();  // a second restore: recorded too
  again.set_backup_id("4");
  Leave(again);
  OpenTestStore(db_).reset();
  EXPECT_EQ(RestoreEntries(db_).size(), 2u);
}

TEST_F(RestoreRecordTest, ADamagedRecordRefusesTheOpenNamingTheFile) {
  WriteBytes(file_, "\xff\xff not a record");
  EXPECT_THAT(Refused(), HasSubstr(kRestoreRecordFile));
  EXPECT_TRUE(RestoreEntries(db_).empty());
}

TEST_F(RestoreRecordTest, ARecordOutOfShapeIsRefusedNamingTheField) {
  const struct {
    const char* field;
    void (*spoil)(v1::BackupRestore*);
  } kCases[] = {
      {"backup_id", [](v1::BackupRestore* r) { r->set_backup_id("3; rm -rf"); }},
      {"backup_id", [](v1::BackupRestore* r) { r->set_backup_id("0"); }},
      {"backup_id", [](v1::BackupRestore* r) { r->set_backup_id("99999999999"); }},
      {"backup_time", [](v1::BackupRestore* r) { r->clear_backup_time(); }},
      {"backup_time", [](v1::BackupRestore* r) { r->mutable_backup_time()->set_seconds(-1); }},
      {"restored_at",
       [](v1::BackupRestore* r) { r->mutable_restored_at()->set_seconds(300'000'000'000); }},
      {"restored_at is before backup_time",
       [](v1::BackupRestore* r) { r->mutable_restored_at()->set_seconds(1); }},
      {"restored_by", [](v1::BackupRestore* r) { r->set_restored_by("root\n[INFO] forged"); }},
      {"restored_by", [](v1::BackupRestore* r) { r->set_restored_by(std::string(257, 'a')); }},
      {"anchor_before", [](v1::BackupRestore* r) { r->set_anchor_before("\x1b[2J"); }},
      {"backup_audit_hash", [](v1::BackupRestore* r) { r->set_backup_audit_hash("short"); }},
      {"restored_trail_end_hash",
       [](v1::BackupRestore* r) { r->set_restored_trail_end_hash("short"); }},
  };
  for (const auto& c : kCases) {
    v1::BackupRestore record = Sample();
    c.spoil(&record);
    Leave(record);
    const std::string message = Refused();
    EXPECT_THAT(message, HasSubstr(kRestoreRecordFile)) << c.field;
    EXPECT_THAT(message, HasSubstr(c.field));
  }
  v1::BackupRestore longest = Sample();  // at the limit: taken
  longest.set_restored_by(std::string(kMaxRestoreTextBytes, 'a'));
  Leave(longest);
  OpenTestStore(db_).reset();
  EXPECT_EQ(RestoreEntries(db_).size(), 1u);
}

// A record planted by someone who can write the directory (or left by a restore of another
// store) must name an audit head this trail holds, with that entry's hash.
TEST_F(RestoreRecordTest, ARecordThatDoesNotFitTheTrailIsRefusedBeforeAnythingIsWritten) {
  v1::BackupRestore beyond = Sample();
  beyond.set_backup_audit_sequence(5);
  Leave(beyond);
  std::string message = Refused();
  EXPECT_THAT(message, HasSubstr("does not describe this directory"));
  EXPECT_THAT(message, HasSubstr("#5"));
  EXPECT_THAT(message, HasSubstr("security incident"));

  v1::BackupRestore other_hash = Sample();
  other_hash.set_backup_audit_hash(std::string(32, 'x'));
  Leave(other_hash);
  EXPECT_THAT(Refused(), HasSubstr("does not describe this directory"));
  EXPECT_TRUE(RestoreEntries(db_).empty());

  // Made for another restored copy: one whose trail ended elsewhere (a genuine record of an
  // earlier restore, put in place of this one's).
  v1::BackupRestore another_copy = Sample();
  another_copy.set_restored_trail_end_sequence(7);
  another_copy.set_restored_trail_end_hash(std::string(32, 'e'));
  Leave(another_copy);
  EXPECT_THAT(Refused(), HasSubstr("made for a restored copy whose trail ends at #7"));
  another_copy.set_restored_trail_end_sequence(first_entry_.sequence);  // the end, another hash
  Leave(another_copy);
  EXPECT_THAT(Refused(), HasSubstr("made for a restored copy"));
  EXPECT_TRUE(RestoreEntries(db_).empty());

  v1::BackupRestore fits = Sample();
  fits.set_restored_trail_end_sequence(first_entry_.sequence);
  fits.set_restored_trail_end_hash(first_entry_.hash);
  Leave(fits);
  OpenTestStore(db_).reset();
  ASSERT_EQ(RestoreEntries(db_).size(), 1u);
  EXPECT_EQ(RestoreEntries(db_)[0].restore().backup_audit_hash(), first_entry_.hash);
}

// Only triagectl admin restore, given the audit key, can seal a record: one planted by
// someone who can write the data directory but has no audit key is refused, as is a
// genuine one altered or put back after the trail went on.
TEST_F(RestoreRecordTest, OnlyASealedRecordOfThisRestoreIsTaken) {
  LeaveAsItIs(Sample());
  EXPECT_THAT(Refused(), HasSubstr("not sealed"));

  // Every field the seal covers, altered after sealing (each still in shape).
  void (*const kAlterations[])(v1::BackupRestore*) = {
      [](v1::BackupRestore* r) { r->set_backup_id("4"); },
      [](v1::BackupRestore* r) { r->mutable_backup_time()->set_nanos(1); },
      [](v1::BackupRestore* r) { r->set_backup_audit_sequence(0); },
      [](v1::BackupRestore* r) { r->mutable_restored_at()->set_nanos(1); },
      [](v1::BackupRestore* r) { r->set_restored_by("uid 0 (someone-else)"); },
      [](v1::BackupRestore* r) { r->set_anchor_before("not given"); },
      [](v1::BackupRestore* r) { r->set_backup_audit_hash(std::string(32, 'x')); },
      [](v1::BackupRestore* r) { r->set_restored_trail_end_sequence(9); },
      [](v1::BackupRestore* r) { r->set_restored_trail_end_hash(std::string(32, 'y')); },
  };
  for (auto alter : kAlterations) {
    v1::BackupRestore altered = Sample();
    SealRestoreRecord(AuditKeysOf(db_), altered);
    alter(&altered);
    LeaveAsItIs(altered);
    EXPECT_THAT(Refused(), HasSubstr("seal does not match")) << altered.ShortDebugString();
  }

  v1::BackupRestore other_key = Sample();
  SealRestoreRecord(*KeyRing::FromKeys({std::string(32, 'k')}), other_key);
  LeaveAsItIs(other_key);
  EXPECT_THAT(Refused(), HasSubstr("not in the audit key file"));

  // A genuine record of a restore ten minutes ago, put back on a trail that has entries
  // since (its first, written just now): beyond the few minutes allowed for a clock ahead.
  v1::BackupRestore before_the_trail_went_on = Sample();
  before_the_trail_went_on.mutable_restored_at()->set_seconds(
      before_the_trail_went_on.restored_at().seconds() - 600);
  Leave(before_the_trail_went_on);
  EXPECT_THAT(Refused(), HasSubstr("later than the restore it records"));
  EXPECT_TRUE(RestoreEntries(db_).empty());

  v1::BackupRestore clock_behind = Sample();  // two minutes: within the slack, taken
  clock_behind.mutable_restored_at()->set_seconds(clock_behind.restored_at().seconds() - 120);
  Leave(clock_behind);
  OpenTestStore(db_).reset();
  EXPECT_EQ(RestoreEntries(db_).size(), 1u);
}

// The key id is recorded as written, so only its one spelling is taken (KeyIdHex: 8
// lowercase hex digits); the id of this fixed key has letters.
TEST(RestoreSealTest, TheKeyIdIsTakenInItsOneSpellingOnly) {
  const KeyRing ring = *KeyRing::FromKeys({std::string(32, 'k')});
  v1::BackupRestore record = SampleRestore(AuditAnchorPoint{1, std::string(32, 'h')});
  SealRestoreRecord(ring, record);
  ASSERT_TRUE(CheckRestoreSeal(ring, record).ok());
  ASSERT_NE(absl::AsciiStrToUpper(record.seal_key_id()), record.seal_key_id());
  record.set_seal_key_id(absl::AsciiStrToUpper(record.seal_key_id()));
  EXPECT_THAT(CheckRestoreSeal(ring, record).message(), HasSubstr("not in the audit key file"));
  record.set_seal_key_id("5e318f8c\n[INFO] forged log line");  // never quoted back
  const std::string message(CheckRestoreSeal(ring, record).message());
  EXPECT_THAT(message, HasSubstr("names no audit key id"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("forged")));
}

// A record sealed with an audit key that is no longer the current one (the key file was
// rotated after the restore) is still taken: the key is in the file.
TEST_F(RestoreRecordTest, ARecordSealedWithAnEarlierAuditKeyIsTaken) {
  const KeyRing before_rotation = AuditKeysOf(db_);
  ASSERT_TRUE(AppendNewKey(testing::TestAuditKeyFile(db_)).ok());
  OpenTestStore(db_).reset();  // the trail's key change
  v1::BackupRestore record = Sample();
  SealRestoreRecord(before_rotation, record);
  LeaveAsItIs(record);
  OpenTestStore(db_).reset();
  ASSERT_EQ(RestoreEntries(db_).size(), 1u);
  EXPECT_EQ(RestoreEntries(db_)[0].restore().seal_key_id(),
            KeyIdHex(before_rotation.current_key_id()));
}

// On a trail found damaged the record cannot be checked against it: it is moved aside
// unrecorded (the damage is what the trail records), and the next start passes it by.
TEST_F(RestoreRecordTest, ARecordOnADamagedTrailIsMovedAsideUnrecorded) {
  RawDb(db_).Delete(ColumnFamily::kMeta, kAuditHeadKey);  // damage the open finds
  Leave(Sample());
  {
    auto store = OpenTestStore(db_);
    EXPECT_FALSE(store->audit_opening().problem.empty());
    EXPECT_THAT(store->audit_opening().restore_not_recorded, HasSubstr("kept as " + file_));
    EXPECT_FALSE(store->audit_opening().restore_recorded.has_value());
  }
  EXPECT_FALSE(std::filesystem::exists(file_));
  int aside = 0;
  for (const auto& entry : std::filesystem::directory_iterator(db_)) {
    aside += entry.path().filename().string().rfind(
                 absl::StrCat(kRestoreRecordFile, ".unrecorded-"), 0) == 0;
  }
  EXPECT_EQ(aside, 1);
  EXPECT_TRUE(OpenTestStore(db_)->audit_opening().restore_not_recorded.empty())
      << "the next start passes the record by";
  EXPECT_TRUE(RestoreEntries(db_).empty());
}

// With --backup_dir the record is compared with the backup it names there: a match and an
// absence are recorded as such, a backup that differs refuses the start.
TEST_F(RestoreRecordTest, ARecordIsComparedWithTheBackupOfItsIdInTheBackupDirectory) {
  const std::string backups = dir_.Sub("backups");
  StoredBackup taken;
  {
    auto store = OpenTestStore(db_);
    auto dir = BackupDirectory::Open(backups);
    ASSERT_TRUE(dir.ok()) << dir.status();
    v1::BackupMetadata metadata;
    metadata.mutable_audit_head()->set_sequence(first_entry_.sequence);
    metadata.mutable_audit_head()->set_hash(first_entry_.hash);
    auto created = (*dir)->Create(store->engine().db(), metadata, 3);
    ASSERT_TRUE(created.ok()) << created.status();
    taken = created->backup;
  }
  StoreOptions options = testing::TestStoreOptions(db_);
  options.backup_dir = backups;
  v1::BackupRestore record = Sample();
  record.set_backup_id(absl::StrCat(taken.id));
  *record.mutable_backup_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(taken.create_time));
  *record.mutable_restored_at() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(taken.create_time + absl::Hours(1)));
  record.set_backup_audit_hash(first_entry_.hash);

  v1::BackupRestore earlier = record;  // the same backup id, another time
  earlier.mutable_backup_time()->set_seconds(record.backup_time().seconds() - 60);
  Leave(earlier);
  EXPECT_THAT(Refused(options), HasSubstr(absl::StrCat("backup ", taken.id, " in ", backups)));

  Leave(record);
  {
    auto in_use = BackupDirectory::OpenReadOnly(backups);  // as triagectl admin backups
    ASSERT_TRUE(in_use.ok()) << in_use.status();
    EXPECT_THAT(Refused(options), HasSubstr("cannot compare it with --backup_dir"));
  }
  OpenTestStore(options).reset();
  v1::BackupRestore elsewhere = record;  // from a copy of the backups kept elsewhere
  elsewhere.set_backup_id("77");
  Leave(elsewhere);
  OpenTestStore(options).reset();
  std::vector<v1::AuditEntry> restores = RestoreEntries(db_);
  ASSERT_EQ(restores.size(), 2u);
  EXPECT_EQ(restores[0].restore().backup_check(), v1::BACKUP_CHECK_MATCHES);
  EXPECT_EQ(restores[1].restore().backup_check(), v1::BACKUP_CHECK_NOT_IN_BACKUP_DIR);
}

TEST_F(RestoreRecordTest, TheServersCheckIsNotTakenFromTheFile) {
  v1::BackupRestore record = Sample();
  record.set_backup_check(v1::BACKUP_CHECK_MATCHES);  // a claim the file cannot make
  Leave(record);
  OpenTestStore(db_).reset();
  ASSERT_EQ(RestoreEntries(db_).size(), 1u);
  EXPECT_EQ(RestoreEntries(db_)[0].restore().backup_check(), v1::BACKUP_CHECK_NO_BACKUP_DIR);
}

// The verifier's side: a restore is trusted only as the server writes it (its principal and
// method, alone, naming an audit head before itself). Each edit on a trail of its own; the
// last is keyed again as the server would key it, so only its meaning is wrong.
TEST_F(RestoreRecordTest, TheVerifierTrustsARestoreOnlyInTheServersShape) {
  const struct {
    size_t index;  // 1: the restore at sequence 2; 2: the access at 3
    void (*edit)(v1::AuditEntry*);
    bool keyed_again;
    const char* problem;
  } kCases[] = {
      {2, [](v1::AuditEntry* e) { e->mutable_restore()->set_backup_id("1"); }, false,
       "did not write"},
      {1, [](v1::AuditEntry* e) { e->set_principal("admin-1"); }, false, "did not write"},
      {1, [](v1::AuditEntry* e) { e->mutable_restore()->set_anchor_before("edited"); }, false,
       "entry edited"},
      {1, [](v1::AuditEntry* e) { e->mutable_restore()->set_backup_audit_sequence(2); }, true,
       "at or after itself"},
  };
  int n = 0;
  for (const auto& c : kCases) {
    const std::string db = dir_.Sub(absl::StrCat("trail-", ++n));
    LeaveSealed(db, SampleRestore(OpenTestStore(db)->committed_audit_anchor()));
    {
      auto store = OpenTestStore(db);
      v1::AuditEntry access;
      access.set_principal("triager-1");
      access.set_method("/safeguarding.triage.v1.TriageDesk/GetReport");
      absl::Notification done;
      store->audit().Record(access, [&](absl::Status s) {
        EXPECT_TRUE(s.ok()) << s;
        done.Notify();
      });
      done.WaitForNotification();
      AuditVerification sound = *store->audit().Verify({});
      EXPECT_TRUE(sound.intact) << sound.problem;
    }
    {
      RawDb raw(db);
      auto entries = raw.Audit();
      ASSERT_EQ(entries.size(), 3u);
      v1::AuditEntry e;
      ASSERT_TRUE(e.ParseFromString(entries[c.index].second));
      c.edit(&e);
      if (c.keyed_again) {
        const KeyRing ring = AuditKeysOf(db);
        e.set_hash(
            AuditEntryHash(e, *ring.DeriveKeyFrom(ring.current_key_id(), kAuditChainKeyLabel)));
      }
      raw.Put(ColumnFamily::kAudit, entries[c.index].first, e.SerializeAsString());
    }
    auto store = OpenTestStore(db);
    AuditVerification v = *store->audit().Verify({});
    EXPECT_FALSE(v.intact) << c.problem;
    EXPECT_EQ(v.first_bad_sequence, c.index + 1) << c.problem;
    EXPECT_THAT(v.problem, HasSubstr(c.problem));
  }
}

}  // namespace
}  // namespace safeguarding::storage
