// The triage desk's queue index (storage/queue_index.h) against storage: after thousands of
// random operations from several threads, after failed writes, and when what is on disk
// is unreadable, edited or keyed twice.
#include <map>
#include <random>
#include <set>
#include <thread>

#include "rocksdb/db.h"
#include "storage/key_encoding.h"
#include "tests/unit/desk_fixture.h"

namespace safeguarding::triage::desk_testing {
namespace {

// The index against a scan of storage: every QUEUED report waits in its place, every
// CLAIMED one has its claim, nothing else is in either, and the queue and claims
// families say the same.
void ExpectIndexMatchesAScan(storage::ReportStore& store, absl::Time at = absl::Now()) {
  std::set<std::string> waiting_expected, claims_expected, waiting_index, claims_index;
  rocksdb::DB* db = store.engine().db();
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(
      rocksdb::ReadOptions(), store.engine().handle(storage::ColumnFamily::kReports)));
  int reports = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++reports) {
    const ReportId id = *ReportId::FromBytes(it->key().ToString());
    absl::StatusOr<v1::Report> report = store.reports().Read(id);
    ASSERT_TRUE(report.ok()) << report.status();
    const std::string place = absl::StrCat(
        report->triage().queue(), "/", report->triage().priority(), "/",
        TimeUtil::TimestampToMicroseconds(report->triage().due_time()), "/", id.ToString());
    if (report->state() == v1::REPORT_STATE_QUEUED) waiting_expected.insert(place);
    if (report->state() == v1::REPORT_STATE_CLAIMED) {
      claims_expected.insert(
          absl::StrCat(place, "/", report->claim().holder(), "/",
                       TimeUtil::TimestampToMicroseconds(report->claim().expire_time())));
    }
  }
  ASSERT_GT(reports, 0);
  auto place_of = [](const storage::QueueEntry& e) {
    return absl::StrCat(e.queue, "/", e.tier, "/", e.due_micros, "/", e.id.ToString());
  };
  storage::QueueIndex::Contents contents = store.queue().Snapshot();
  for (const auto& e : contents.waiting) waiting_index.insert(place_of(e));
  for (const auto& c : contents.claims) {
    claims_index.insert(absl::StrCat(place_of(c.entry), "/", c.holder, "/", c.expire_micros));
  }
  EXPECT_EQ(waiting_index, waiting_expected);
  EXPECT_EQ(claims_index, claims_expected);
  std::set<std::string> family;
  ASSERT_TRUE(store.queue()
                  .Scan([&](const storage::QueueKeyParts& k) {
                    family.insert(absl::StrCat(k.queue, "/", k.tier, "/", k.due_micros, "/",
                                               k.id.ToString()));
                  })
                  .ok());
  EXPECT_EQ(family, waiting_expected) << "the queue family";

  // The summaries the index keeps count for itself agree with counting the scan.
  const int64_t now = absl::ToUnixMicros(at);
  std::map<std::string, std::vector<uint64_t>> expected_counts;  // tiers 1-4, claimed, past due
  for (const auto& e : contents.waiting) {
    auto& c = expected_counts.try_emplace(e.queue, std::vector<uint64_t>(6, 0)).first->second;
    ++c[e.tier - 1];
    if (e.due_micros < now) ++c[5];
  }
  for (const auto& claim : contents.claims) {
    ++expected_counts.try_emplace(claim.entry.queue, std::vector<uint64_t>(6, 0)).first->second[4];
  }
  std::map<std::string, std::vector<uint64_t>> counted;
  for (const storage::QueueCounts& c : store.queue().Counts({}, now)) {
    counted[c.queue] = {c.waiting_by_tier[1],
                        c.waiting_by_tier[2],
                        c.waiting_by_tier[3],
                        c.waiting_by_tier[4],
                        c.claimed,
                        c.past_due};
  }
  EXPECT_EQ(counted, expected_counts) << "per queue: tiers, claimed, past due";
}

TEST_F(DeskTest, AfterThousandsOfRandomOperationsTheIndexAgreesWithStorage) {
  constexpr int kThreads = 4, kOpsPerThread = 600;
  for (int i = 0; i < 200; ++i) {
    Submit(i % 3 == 0 ? Urgent : (i % 7 == 0 ? Immediate : Standard));
  }
  std::vector<std::thread> threads;
  std::atomic<int> decided{0}, claimed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 random(t);
      const Caller me =
          Staff(absl::StrCat("triager-", t), t == 0 ? v1::ROLE_SUPERVISOR : v1::ROLE_TRIAGER);
      std::vector<v1::Claim> mine;
      for (int op = 0; op < kOpsPerThread; ++op) {
        const int pick = random() % 10;
        if (pick < 4 || mine.empty()) {
          auto c = Claim(me, "", absl::Minutes(1 + random() % 5));
          if (c.ok() && c->has_claim()) {
            mine.push_back(c->claim());
            ++claimed;
          }
          continue;
        }
        const size_t which = random() % mine.size();
        const v1::Claim claim = mine[which];
        if (pick < 5) {
          (void)Renew(me, claim, absl::Minutes(1 + random() % 5));
        } else if (pick < 6) {
          (void)Reprioritise(me, claim.report_id(), static_cast<v1::Priority>(1 + random() % 4));
          (void)Note(me, claim.report_id(), "a note");
        } else if (pick < 8) {
          (void)Release(me, claim.report_id(), claim.claim_id());
          mine.erase(mine.begin() + which);
        } else {
          if (Decide(me, claim.report_id(), claim.claim_id()).ok()) ++decided;
          mine.erase(mine.begin() + which);
        }
        if (op % 50 == 0) {
          clock_.Advance(absl::Seconds(40));
          desk_->ExpireDueClaims();
        }
        if (op % 20 == 0 && t == 1) Submit(Standard);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Barrier();  // the last expiries have landed
  EXPECT_GT(claimed.load(), 100);
  EXPECT_GT(decided.load(), 20);
  ExpectIndexMatchesAScan(*store_);
  // Some reports due, some not yet: the past-due counts are checked on both sides.
  ExpectIndexMatchesAScan(*store_, clock_.Now() + absl::Hours(20));
  Reopen();
  ExpectIndexMatchesAScan(*store_);
  ExpectIndexMatchesAScan(*store_, clock_.Now() + absl::Hours(3));
}

// A write that fails leaves memory as storage is (the store answers UNAVAILABLE until it
// is restarted on a healthy disk, as docs/OPERATIONS.md says).
TEST_F(DeskTest, AFailedWriteChangesNothingInStorageOrInTheIndex) {
  const std::string id = Submit(Standard);
  const ReportId report = *ReportId::Parse(id);
  faulty_.fs->set_fail_wal(true);
  EXPECT_EQ(Claim(alice_).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store_->queue().FindWaiting(report).has_value()) << "back in its place";
  faulty_.fs->set_fail_wal(false);
  Reopen();
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok()) << claim.status();
  EXPECT_EQ(claim->report().id(), id);

  faulty_.fs->set_fail_wal(true);
  EXPECT_EQ(Decide(alice_, id, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Release(alice_, id, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(Renew(alice_, claim->claim()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(store_->queue().FindClaim(report).has_value()) << "the claim is still live";
  EXPECT_FALSE(store_->queue().FindWaiting(report).has_value());
  faulty_.fs->set_fail_wal(false);
  Reopen();
  ExpectIndexMatchesAScan(*store_);
  EXPECT_TRUE(Decide(alice_, id, claim->claim().claim_id()).ok()) << "the claim is intact";
  EXPECT_EQ(Read(id).state(), v1::REPORT_STATE_CLOSED);
  ExpectIndexMatchesAScan(*store_);
}

TEST_F(DeskTest, AReportThatCannotBeReadDoesNotBlockTheQueueBehindIt) {
  const std::string damaged = Submit(Immediate);  // first in claim order
  const std::string next = Submit(Standard);
  storage::Mutation m;
  m.Put(storage::ColumnFamily::kReports, std::string(ReportId::Parse(damaged)->bytes()),
        "not a report");
  WriteRaw(std::move(m));
  EXPECT_EQ(ClaimId(alice_), next);
  absl::MutexLock lock(&problems_mu_);
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_THAT(problems_[0], HasSubstr(damaged));
  EXPECT_THAT(problems_[0], HasSubstr("left out of claims"));
}

// The workflow record on disk is authenticated with its report id: an edit of the clear
// record (here the claim's holder, one byte) fails to open, so the report cannot be read or
// decided (DATA_LOSS), and nothing else changes.
TEST_F(DeskTest, AWorkflowRecordEditedOnDiskIsDataLossNotATransition) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  auto claim = Claim(alice_);
  ASSERT_TRUE(claim.ok()) << claim.status();
  rocksdb::DB* db = store_->engine().db();
  rocksdb::ColumnFamilyHandle* workflow = store_->engine().handle(storage::ColumnFamily::kWorkflow);
  std::string raw;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), workflow, std::string(id.bytes()), &raw).ok());
  const size_t holder = raw.find("alice");
  ASSERT_NE(holder, std::string::npos) << "the holder is in the clear record";
  raw[holder + 4] = 'f';  // "alicf"
  storage::Mutation m;
  m.Put(storage::ColumnFamily::kWorkflow, std::string(id.bytes()), raw);
  WriteRaw(std::move(m));

  EXPECT_EQ(store_->reports().Read(id).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(Decide(alice_, id_text, claim->claim().claim_id()).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_TRUE(store_->queue().FindClaim(id).has_value()) << "the claim is untouched";
  std::string after;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), workflow, std::string(id.bytes()), &after).ok());
  EXPECT_EQ(after, raw) << "a refused decision writes nothing";
}

// The queue family holds one key per waiting report; were a report keyed twice (damage),
// the bulk load keeps the last key scanned (the greater one), as inserting one by one did,
// and counts it once.
TEST_F(DeskTest, AReportKeyedTwiceInTheQueueFamilyLoadsOnceUnderItsLastKey) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  const std::optional<storage::QueueEntry> first = store_->queue().FindWaiting(id);
  ASSERT_TRUE(first.has_value());
  storage::QueueEntry second = *first;
  second.due_micros += 1;  // same queue and tier, a later due time: a greater key
  storage::Mutation m;
  storage::QueueIndex::Add(m, second);
  WriteRaw(std::move(m));
  Reopen();
  const std::optional<storage::QueueEntry> loaded = store_->queue().FindWaiting(id);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->due_micros, second.due_micros);
  uint64_t waiting = 0;
  for (const storage::QueueCounts& c :
       store_->queue().Counts({}, absl::ToUnixMicros(clock_.Now()))) {
    waiting += c.waiting;
  }
  EXPECT_EQ(waiting, 1u);
  EXPECT_EQ(ClaimId(alice_), id_text);
  EXPECT_EQ(ClaimId(alice_), "") << "handed out once";
}

// A report keyed twice in different queues: where the first key (in scan order) was the
// only entry of its queue, that queue is not left behind as an empty one.
TEST_F(DeskTest, AQueueEmptiedByADuplicateKeyIsNotAQueueAfterLoading) {
  const std::string id_text = Submit(Standard);
  const ReportId id = *ReportId::Parse(id_text);
  const std::optional<storage::QueueEntry> real = store_->queue().FindWaiting(id);
  ASSERT_TRUE(real.has_value());
  storage::QueueEntry stray = *real;
  stray.queue = "aa";  // a shorter name: its keys sort first, so the real key wins
  storage::Mutation m;
  storage::QueueIndex::Add(m, stray);
  WriteRaw(std::move(m));
  Reopen();
  EXPECT_EQ(store_->queue().FindWaiting(id)->queue, real->queue);
  EXPECT_FALSE(store_->queue().HasQueue("aa"));
  for (const storage::QueueCounts& c : store_->queue().Counts({}, 0)) EXPECT_NE(c.queue, "aa");
  EXPECT_EQ(Claim(alice_, "aa").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace safeguarding::triage::desk_testing
