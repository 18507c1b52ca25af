// triage/audit.h: how an access is described in the trail, how client-supplied report ids
// are recorded, and that an answer leaves only once its audit entry is durable (and never
// when it cannot be written).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "storage/report_id.h"
#include "storage/report_store.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"
#include "triage/audit.h"

namespace safeguarding::triage {
namespace {

Caller Alice() {
  Caller c;
  c.principal = "alice";
  c.role = v1::ROLE_TRIAGER;
  c.method = "/safeguarding.triage.v1.TriageDesk/GetReport";
  c.peer = "ipv4:127.0.0.1:5000";
  return c;
}

TEST(AuditEntryForTest, RecordsWhoWhatWhichAndTheOutcome) {
  const std::string id = storage::ReportId::Generate(absl::Now()).ToString();
  v1::AuditEntry e = AuditEntryFor(Alice(), id, absl::StatusCode::kNotFound);
  EXPECT_EQ(e.principal(), "alice");
  EXPECT_EQ(e.role(), v1::ROLE_TRIAGER);
  EXPECT_EQ(e.method(), "/safeguarding.triage.v1.TriageDesk/GetReport");
  EXPECT_EQ(e.report_id(), id);
  EXPECT_EQ(e.result_code(), static_cast<int>(absl::StatusCode::kNotFound));
  EXPECT_EQ(e.peer(), "ipv4:127.0.0.1:5000");
  EXPECT_EQ(e.sequence(), 0u) << "the committer stamps sequence, time and hashes";
}

TEST(AuditReportIdTest, CanonicalWhenItParsesHexWhenItDoesNot) {
  const std::string id = storage::ReportId::Generate(absl::Now()).ToString();
  EXPECT_EQ(AuditReportId(id), id);
  EXPECT_EQ(AuditReportId(absl::AsciiStrToLower(id)), id) << "case-folded";
  EXPECT_EQ(AuditReportId(""), "");
  EXPECT_EQ(AuditReportId("not\xffvalid"), "malformed:6e6f74ff76616c6964");
  std::string hex_of_32_x;
  for (int i = 0; i < 32; ++i) hex_of_32_x += "78";
  EXPECT_EQ(AuditReportId(std::string(100, 'x')), "malformed:" + hex_of_32_x)
      << "only the first 32 bytes";
}

TEST(FinishAuditedTest, AnswersAfterTheEntryAndNeverWithoutIt) {
  testing::TempDir dir;
  testing::FaultyEnv faulty;
  auto store =
      storage::ReportStore::Open(testing::TestStoreOptions(dir.Sub("db"), faulty.env.get()));
  ASSERT_TRUE(store.ok()) << store.status();
  auto answer = [&](absl::StatusOr<std::string> result) {
    absl::Notification done;
    absl::StatusOr<std::string> got;
    FinishAudited<std::string>((*store)->audit(), Alice(), "", std::move(result),
                               [&](absl::StatusOr<std::string> r) {
                                 got = std::move(r);
                                 done.Notify();
                               });
    done.WaitForNotification();
    return got;
  };
  absl::StatusOr<std::string> ok = answer(std::string("the report"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "the report");
  auto page = (*store)->audit().Read(storage::AuditQuery{.principal = "alice"});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 1u) << "the answer left with its entry on record";

  faulty.fs->set_fail_wal(true);  // the entry cannot be written
  absl::StatusOr<std::string> refused = answer(std::string("the report"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(refused.status().message()), ::testing::HasSubstr("nothing disclosed"));
}

}  // namespace
}  // namespace safeguarding::triage
