// triagectl's rendering of replies: JSON that a script can always parse, even when the
// reply holds what protobuf's JSON mapping cannot print.
#include "tools/triagectl/render.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// The JSON parsed as a google.protobuf.Struct: fails the test if it is not a JSON object.
google::protobuf::Struct Parsed(const std::string& json) {
  google::protobuf::Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok()) << json;
  return parsed;
}

TEST(RenderJsonTest, AReplyIsPrintedAsItsJsonMapping) {
  v1::SubmitReportResponse reply;
  reply.set_report_id("01JABCDEFGHJKMNPQRSTVWXYZ0");
  reply.mutable_received_time()->set_seconds(1'780'000'000);
  const google::protobuf::Struct parsed = Parsed(RenderJson(reply));
  EXPECT_EQ(parsed.fields().at("reportId").string_value(), "01JABCDEFGHJKMNPQRSTVWXYZ0");
  EXPECT_EQ(parsed.fields().at("receivedTime").string_value(), "2026-05-28T20:26:40Z");
  EXPECT_THAT(RenderJsonLine(reply), Not(HasSubstr("\n  ")));  // one line, then a newline
  EXPECT_EQ(RenderJsonLine(reply).back(), '\n');
}

TEST(RenderJsonTest, AReplyTheMappingCannotPrintBecomesAnErrorObjectAndALineOnStderr) {
  v1::SubmitReportResponse reply;
  reply.mutable_received_time()->set_seconds(253'402'300'800);  // year 10000: no RFC 3339
  ::testing::internal::CaptureStderr();
  const std::string out = RenderJson(reply);
  const std::string err = ::testing::internal::GetCapturedStderr();
  const google::protobuf::Struct parsed = Parsed(out);
  ASSERT_EQ(parsed.fields().size(), 1u) << out;
  const std::string what = parsed.fields().at("triagectlError").string_value();
  EXPECT_THAT(what, StartsWith("triagectl cannot print the reply as JSON: "));
  // Ours is the last line (protobuf may warn before it).
  ASSERT_FALSE(err.empty());
  const std::string ours = err.substr(err.rfind('\n', err.size() - 2) + 1);
  EXPECT_EQ(ours, "triagectl: " + what + "\n");
  EXPECT_THAT(what, HasSubstr("Timestamp"));  // says what could not be printed
  for (char c : what) {
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);  // printable ASCII only
  }
  ::testing::internal::CaptureStderr();
  const std::string line = RenderJsonLine(reply);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Parsed(line).fields().count("triagectlError"), 1u);
  EXPECT_EQ(line.back(), '\n');
}

}  // namespace
}  // namespace safeguarding::tools
