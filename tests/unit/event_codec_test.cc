// How events are stored (storage/event_codec.h): an event without text is its plain bytes,
// as before; a text is sealed, bound to its event key and to the event's clear part.
#include "storage/event_codec.h"

#include <gtest/gtest.h>

#include "storage/key_encoding.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_server.h"

namespace safeguarding::storage {
namespace {

namespace v1 = ::safeguarding::triage::v1;

class EventCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<KeyRing> ring = KeyRing::LoadFile(testing::TestKeyFile(dir_.Sub("db")));
    ASSERT_TRUE(ring.ok()) << ring.status();
    ring_ = std::make_unique<KeyRing>(*std::move(ring));
    id_ = ReportId::Generate(absl::FromUnixSeconds(1774258200));
  }
  v1::ReportEvent Event(const std::string& text) {
    v1::ReportEvent e;
    e.set_report_id(id_.ToString());
    e.set_sequence(3);
    e.set_type(v1::REPORT_EVENT_TYPE_RELEASED);
    e.set_actor("triager-1");
    e.set_text(text);
    return e;
  }
  testing::TempDir dir_;
  std::unique_ptr<KeyRing> ring_;
  ReportId id_;
};

TEST_F(EventCodecTest, AnEventWithoutTextIsStoredAsItsPlainBytes) {
  const v1::ReportEvent event = Event("");
  const std::string key = EventKey(id_, 3);
  absl::StatusOr<std::string> stored = SealEvent(event, key, *ring_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, event.SerializeAsString()) << "readable by every earlier release";
  EXPECT_FALSE(SealedEventKeyId(*stored).has_value());
  absl::StatusOr<v1::ReportEvent> opened = OpenEvent(*stored, key, *ring_);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->actor(), "triager-1");
}

TEST_F(EventCodecTest, ATextIsSealedAndOpensOnlyUnderItsOwnKeyAndClearPart) {
  const std::string key = EventKey(id_, 3);
  absl::StatusOr<std::string> stored =
      SealEvent(Event("the child is safe with an aunt"), key, *ring_);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->find("safe with an aunt"), std::string::npos);
  EXPECT_EQ(SealedEventKeyId(*stored), ring_->current_key_id());
  absl::StatusOr<v1::ReportEvent> opened = OpenEvent(*stored, key, *ring_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->text(), "the child is safe with an aunt");
  EXPECT_EQ(opened->sequence(), 3u);

  // Moved to another event of the report: refused.
  EXPECT_FALSE(OpenEvent(*stored, EventKey(id_, 4), *ring_).ok());
  // The clear part edited (another actor): refused.
  std::string edited = *stored;
  const size_t at = edited.find("triager-1");
  ASSERT_NE(at, std::string::npos);
  edited[at] = 'T';
  EXPECT_FALSE(OpenEvent(edited, key, *ring_).ok());
  // Cut short: damaged, not a crash.
  EXPECT_EQ(OpenEvent(stored->substr(0, 4), key, *ring_).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace safeguarding::storage
