// storage/report_codec.h: what a stored report looks like. Secrets are sealed, the clear
// part is authenticated with them, a blob belongs to its own report, and the key id is
// readable without the key.
#include "storage/report_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace safeguarding::storage {
namespace {

KeyRing Ring(char fill) { return *KeyRing::FromKeys({std::string(32, fill)}); }

v1::Report Sample(const ReportId& id) {
  v1::Report r;
  r.set_id(id.ToString());
  r.mutable_submission()->set_description("the words of a child");
  r.mutable_submission()->mutable_reporter()->mutable_contact()->set_email("a@example.org");
  r.mutable_submission()->set_region("Kent");
  r.mutable_triage()->set_priority(v1::PRIORITY_URGENT);
  r.set_state(v1::REPORT_STATE_QUEUED);
  return r;
}

TEST(ReportCodecTest, RoundTripsWithSecretsOutOfTheClearPart) {
  const ReportId id = ReportId::Generate(absl::Now());
  const KeyRing ring = Ring('a');
  absl::StatusOr<std::string> sealed = SealReport(Sample(id), id, ring);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->find("the words of a child"), std::string::npos);
  EXPECT_EQ(sealed->find("a@example.org"), std::string::npos);
  EXPECT_NE(sealed->find("Kent"), std::string::npos) << "the clear part stays indexable";
  absl::StatusOr<v1::Report> opened = OpenReport(*sealed, id, ring);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->submission().description(), "the words of a child");
  EXPECT_EQ(opened->submission().reporter().contact().email(), "a@example.org");
  EXPECT_EQ(opened->triage().priority(), v1::PRIORITY_URGENT);
  EXPECT_EQ(SealedReportKeyId(*sealed), ring.current_key_id());
}

TEST(ReportCodecTest, AnEditedClearPartFailsToOpen) {
  const ReportId id = ReportId::Generate(absl::Now());
  const KeyRing ring = Ring('a');
  std::string sealed = *SealReport(Sample(id), id, ring);
  const size_t at = sealed.find("Kent");
  ASSERT_NE(at, std::string::npos);
  sealed[at] = 'T';  // "Tent": a region rewritten on disk
  EXPECT_EQ(OpenReport(sealed, id, ring).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ReportCodecTest, ARecordMovedToAnotherReportFailsToOpen) {
  const ReportId id = ReportId::Generate(absl::Now());
  const ReportId other = ReportId::Generate(absl::Now());
  const KeyRing ring = Ring('a');
  const std::string sealed = *SealReport(Sample(id), id, ring);
  EXPECT_EQ(OpenReport(sealed, other, ring).status().code(), absl::StatusCode::kDataLoss);
}

TEST(ReportCodecTest, AMissingKeyIsFailedPreconditionAndGarbageIsDataLoss) {
  const ReportId id = ReportId::Generate(absl::Now());
  const std::string sealed = *SealReport(Sample(id), id, Ring('a'));
  EXPECT_EQ(OpenReport(sealed, id, Ring('b')).status().code(),
            absl::StatusCode::kFailedPrecondition);
  for (const std::string& garbage :
       {std::string(), std::string("\x01"), std::string("\x02\0\0\0\0", 5), sealed.substr(0, 7)}) {
    EXPECT_EQ(OpenReport(garbage, id, Ring('a')).status().code(), absl::StatusCode::kDataLoss)
        << garbage.size();
    EXPECT_FALSE(SealedReportKeyId(garbage).has_value()) << garbage.size();
  }
}

TEST(ReportCodecTest, AWorkflowRecordIsAuthenticatedToItsReport) {
  const KeyRing ring = Ring('a');
  const ReportId id = ReportId::Generate(absl::FromUnixSeconds(1774256400));
  v1::Report workflow;
  workflow.set_state(v1::REPORT_STATE_CLAIMED);
  workflow.mutable_triage()->set_priority(v1::PRIORITY_IMMEDIATE);
  workflow.set_event_count(2);
  absl::StatusOr<std::string> sealed = SealWorkflow(workflow, id, ring);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  absl::StatusOr<v1::Report> opened = OpenWorkflow(*sealed, id, ring);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->triage().priority(), v1::PRIORITY_IMMEDIATE);
  EXPECT_EQ(SealedWorkflowKeyId(*sealed), ring.current_key_id());

  // A lowered priority written over the clear record, keeping the tag: refused.
  v1::Report lowered = workflow;
  lowered.mutable_triage()->set_priority(v1::PRIORITY_ROUTINE);
  const std::string clear = workflow.SerializeAsString();
  const std::string forged_clear = lowered.SerializeAsString();
  ASSERT_EQ(clear.size(), forged_clear.size());
  std::string forged = *sealed;
  forged.replace(5, clear.size(), forged_clear);
  EXPECT_EQ(OpenWorkflow(forged, id, ring).status().code(), absl::StatusCode::kDataLoss);
  // Moved to another report: refused.
  const ReportId other = ReportId::Generate(absl::FromUnixSeconds(1774256401));
  EXPECT_EQ(OpenWorkflow(*sealed, other, ring).status().code(), absl::StatusCode::kDataLoss);
  // Under a key the ring lacks: FAILED_PRECONDITION, as for reports.
  EXPECT_EQ(OpenWorkflow(*sealed, id, Ring('b')).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace safeguarding::storage
