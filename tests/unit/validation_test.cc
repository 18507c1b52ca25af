// Tests of triage/validation.h: every rule of ValidateSubmitReport, one table row each,
// checked through the google.rpc.BadRequest payload a client would see.
#include "triage/validation.h"

#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "tests/support/bad_request.h"
#include "tests/support/sample_reports.h"

namespace safeguarding::triage {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAreArray;

using Request = v1::SubmitReportRequest;
using Mutator = std::function<void(Request&)>;

v1::SubmitReportRequest Valid() { return ::safeguarding::testing::ValidRequest("req-0001"); }

v1::Reporter& MutableReporter(v1::SubmitReportRequest& r) {
  return *r.mutable_report()->mutable_reporter();
}

v1::ContactDetails& MutableContact(v1::SubmitReportRequest& r) {
  return *MutableReporter(r).mutable_contact();
}

using testing::BadRequestOf;

std::vector<std::string> FieldsOf(const google::rpc::BadRequest& bad_request) {
  std::vector<std::string> fields;
  for (const auto& v : bad_request.field_violations()) fields.push_back(v.field());
  return fields;
}

TEST(ValidationTest, SampleRequestIsValid) { EXPECT_TRUE(ValidateSubmitReport(Valid()).ok()); }

// --- One invalid field per case --------------------------------------------------------

struct InvalidCase {
  std::string name;
  Mutator mutate;
  std::string field;
};

// Failure messages name the case instead of dumping its bytes.
void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

std::vector<InvalidCase> InvalidCases() {
  return {
      // request_id
      {"RequestIdEmpty", [](Request& r) { r.set_request_id(""); }, "request_id"},
      {"RequestIdTooLong", [](Request& r) { r.set_request_id(std::string(129, 'r')); },
       "request_id"},
      {"RequestIdWithSpace", [](Request& r) { r.set_request_id("req 0001"); }, "request_id"},
      {"RequestIdWithTab", [](Request& r) { r.set_request_id("req\t0001"); }, "request_id"},
      {"RequestIdNonAscii", [](Request& r) { r.set_request_id("req-\xC3\xA9"); }, "request_id"},
      // report
      {"ReportMissing", [](Request& r) { r.clear_report(); }, "report"},
      // reporter
      {"ReporterMissing", [](Request& r) { r.mutable_report()->clear_reporter(); },
       "report.reporter"},
      {"ReporterTypeUnspecified",
       [](Request& r) { MutableReporter(r).set_type(v1::REPORTER_TYPE_UNSPECIFIED); },
       "report.reporter.type"},
      {"ReporterTypeOutOfRange",
       [](Request& r) { MutableReporter(r).set_type(static_cast<v1::ReporterType>(99)); },
       "report.reporter.type"},
      {"ProfessionalWithoutRole",
       [](Request& r) { MutableReporter(r).set_type(v1::REPORTER_TYPE_PROFESSIONAL); },
       "report.reporter.professional_role"},
      {"ChildWithRole",
       [](Request& r) { MutableReporter(r).set_professional_role(v1::PROFESSIONAL_ROLE_TEACHER); },
       "report.reporter.professional_role"},
      {"ParentCarerWithRole",
       [](Request& r) {
         MutableReporter(r).set_type(v1::REPORTER_TYPE_PARENT_CARER);
         MutableReporter(r).set_professional_role(v1::PROFESSIONAL_ROLE_HEALTH);
       },
       "report.reporter.professional_role"},
      {"ProfessionalRoleOutOfRange",
       [](Request& r) {
         MutableReporter(r).set_type(v1::REPORTER_TYPE_PROFESSIONAL);
         MutableReporter(r).set_professional_role(static_cast<v1::ProfessionalRole>(99));
       },
       "report.reporter.professional_role"},
      // reporter.contact
      {"ContactNameTooLong", [](Request& r) { MutableContact(r).set_name(std::string(201, 'n')); },
       "report.reporter.contact.name"},
      {"ContactNameControlChar", [](Request& r) { MutableContact(r).set_name("Sam\x01Smith"); },
       "report.reporter.contact.name"},
      {"ContactNameNewline", [](Request& r) { MutableContact(r).set_name("Sam\nSmith"); },
       "report.reporter.contact.name"},
      {"ContactNameInvalidUtf8", [](Request& r) { MutableContact(r).set_name("Sam \xFF"); },
       "report.reporter.contact.name"},
      {"ContactEmailWithoutAt", [](Request& r) { MutableContact(r).set_email("sam.example.org"); },
       "report.reporter.contact.email"},
      {"ContactEmailEmptyLocalPart",
       [](Request& r) { MutableContact(r).set_email("@example.org"); },
       "report.reporter.contact.email"},
      {"ContactEmailEmptyDomain", [](Request& r) { MutableContact(r).set_email("sam@"); },
       "report.reporter.contact.email"},
      {"ContactEmailTwoAts",
       [](Request& r) { MutableContact(r).set_email("sam@home@example.org"); },
       "report.reporter.contact.email"},
      {"ContactEmailWithSpace",
       [](Request& r) { MutableContact(r).set_email("sam smith@example.org"); },
       "report.reporter.contact.email"},
      {"ContactEmailNonAscii",
       [](Request& r) { MutableContact(r).set_email("s\xC3\xA9@example.org"); },
       "report.reporter.contact.email"},
      {"ContactEmailTooLong",
       [](Request& r) { MutableContact(r).set_email(std::string(243, 's') + "@example.org"); },
       "report.reporter.contact.email"},
      {"ContactPhoneLetters", [](Request& r) { MutableContact(r).set_phone("0207 CALL ME"); },
       "report.reporter.contact.phone"},
      {"ContactPhoneNoDigits", [](Request& r) { MutableContact(r).set_phone("+ (-) "); },
       "report.reporter.contact.phone"},
      {"ContactPhoneTooLong", [](Request& r) { MutableContact(r).set_phone(std::string(33, '7')); },
       "report.reporter.contact.phone"},
      // child_age
      {"ChildAgeNegative", [](Request& r) { r.mutable_report()->set_child_age(-1); },
       "report.child_age"},
      {"ChildAge18", [](Request& r) { r.mutable_report()->set_child_age(18); }, "report.child_age"},
      // categories
      {"CategoriesEmpty", [](Request& r) { r.mutable_report()->clear_categories(); },
       "report.categories"},
      {"CategoryUnspecified",
       [](Request& r) { r.mutable_report()->add_categories(v1::CONCERN_CATEGORY_UNSPECIFIED); },
       "report.categories[1]"},
      {"CategoryOutOfRange",
       [](Request& r) { r.mutable_report()->add_categories(static_cast<v1::ConcernCategory>(99)); },
       "report.categories[1]"},
      {"CategoryRepeated",
       [](Request& r) { r.mutable_report()->add_categories(v1::CONCERN_CATEGORY_GROOMING); },
       "report.categories[1]"},
      {"CategoriesMoreThanSeven",
       [](Request& r) {
         // The sample has GROOMING; add the other six, then one repeat: eight values.
         for (int c = 2; c <= 7; ++c) {
           r.mutable_report()->add_categories(static_cast<v1::ConcernCategory>(c));
         }
         r.mutable_report()->add_categories(v1::CONCERN_CATEGORY_OTHER);
       },
       "report.categories"},
      // channels
      {"ChannelUnspecified",
       [](Request& r) { r.mutable_report()->add_channels(v1::CHANNEL_UNSPECIFIED); },
       "report.channels[1]"},
      {"ChannelOutOfRange",
       [](Request& r) { r.mutable_report()->add_channels(static_cast<v1::Channel>(99)); },
       "report.channels[1]"},
      {"ChannelRepeated",
       [](Request& r) { r.mutable_report()->add_channels(v1::CHANNEL_ONLINE_GAMING); },
       "report.channels[1]"},
      {"ChannelsMoreThanSeven",
       [](Request& r) {
         r.mutable_report()->clear_channels();
         for (int c = 1; c <= 7; ++c) r.mutable_report()->add_channels(static_cast<v1::Channel>(c));
         r.mutable_report()->add_channels(v1::CHANNEL_OTHER);
       },
       "report.channels"},
      // platform
      {"PlatformTooLong",
       [](Request& r) { r.mutable_report()->set_platform(std::string(101, 'p')); },
       "report.platform"},
      {"PlatformInvalidUtf8", [](Request& r) { r.mutable_report()->set_platform("Game\xC3"); },
       "report.platform"},
      {"PlatformControlChar", [](Request& r) { r.mutable_report()->set_platform("Game\x07"); },
       "report.platform"},
      // region
      {"RegionTooLong", [](Request& r) { r.mutable_report()->set_region(std::string(65, 'r')); },
       "report.region"},
      {"RegionNonAscii", [](Request& r) { r.mutable_report()->set_region("Z\xC3\xBCrich"); },
       "report.region"},
      {"RegionControlChar", [](Request& r) { r.mutable_report()->set_region("Thames\tValley"); },
       "report.region"},
      // description
      {"DescriptionEmpty", [](Request& r) { r.mutable_report()->set_description(""); },
       "report.description"},
      {"DescriptionWhitespaceOnly",
       [](Request& r) { r.mutable_report()->set_description("  \n\t \r\n "); },
       "report.description"},
      {"DescriptionTooLong",
       [](Request& r) { r.mutable_report()->set_description(std::string(20001, 'd')); },
       "report.description"},
      {"DescriptionOverlongTwoByte",
       [](Request& r) { r.mutable_report()->set_description("path \xC0\xAF etc"); },
       "report.description"},
      {"DescriptionOverlongThreeByte",
       [](Request& r) { r.mutable_report()->set_description("slash \xE0\x80\xAF here"); },
       "report.description"},
      {"DescriptionOverlongFourByte",
       [](Request& r) { r.mutable_report()->set_description("a \xF0\x82\x82\xAC b"); },
       "report.description"},
      {"DescriptionSurrogate",
       [](Request& r) { r.mutable_report()->set_description("half \xED\xA0\x80 pair"); },
       "report.description"},
      {"DescriptionAboveUnicodeRange",
       [](Request& r) { r.mutable_report()->set_description("big \xF4\x90\x80\x80"); },
       "report.description"},
      {"DescriptionTruncatedAtEnd",
       [](Request& r) { r.mutable_report()->set_description("euro sign \xE2\x82"); },
       "report.description"},
      {"DescriptionTruncatedMidText",
       [](Request& r) { r.mutable_report()->set_description("euro \xE2\x82 sign"); },
       "report.description"},
      {"DescriptionStrayContinuationByte",
       [](Request& r) { r.mutable_report()->set_description("odd \x80 byte"); },
       "report.description"},
      {"DescriptionInvalidLeadByte",
       [](Request& r) { r.mutable_report()->set_description("odd \xFF byte"); },
       "report.description"},
      {"DescriptionControlChar",
       [](Request& r) { r.mutable_report()->set_description("bell \x07 here"); },
       "report.description"},
      {"DescriptionEscapeChar",
       [](Request& r) { r.mutable_report()->set_description("escape \x1B[31m red"); },
       "report.description"},
      {"DescriptionDeleteChar",
       [](Request& r) { r.mutable_report()->set_description("delete \x7F here"); },
       "report.description"},
  };
}

class InvalidFieldTest : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidFieldTest, ReportsExactlyThatFieldAsInvalidArgument) {
  v1::SubmitReportRequest request = Valid();
  GetParam().mutate(request);
  const absl::Status status = ValidateSubmitReport(request);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr(GetParam().field));
  std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  ASSERT_TRUE(bad_request.has_value()) << "no parseable BadRequest payload: " << status;
  ASSERT_EQ(bad_request->field_violations_size(), 1) << bad_request->DebugString();
  EXPECT_EQ(bad_request->field_violations(0).field(), GetParam().field);
  EXPECT_THAT(bad_request->field_violations(0).description(), Not(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(ValidationTest, InvalidFieldTest, ::testing::ValuesIn(InvalidCases()),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return info.param.name;
                         });

// --- Boundary values that must pass ----------------------------------------------------

struct ValidCase {
  std::string name;
  Mutator mutate;
};

void PrintTo(const ValidCase& c, std::ostream* os) { *os << c.name; }

std::vector<ValidCase> ValidCases() {
  return {
      {"RequestId128Bytes", [](Request& r) { r.set_request_id(std::string(128, 'r')); }},
      {"RequestIdOneByte", [](Request& r) { r.set_request_id("r"); }},
      {"RequestIdUuid",
       [](Request& r) { r.set_request_id("3f2b8c1e-9a4d-4e7b-8f1a-2c6d9e0b5a7f"); }},
      {"ChildAge0", [](Request& r) { r.mutable_report()->set_child_age(0); }},
      {"ChildAge17", [](Request& r) { r.mutable_report()->set_child_age(17); }},
      {"ChildAgeUnknown", [](Request& r) { r.mutable_report()->clear_child_age(); }},
      {"ProfessionalWithRole",
       [](Request& r) {
         MutableReporter(r).set_type(v1::REPORTER_TYPE_PROFESSIONAL);
         MutableReporter(r).set_professional_role(v1::PROFESSIONAL_ROLE_SOCIAL_WORKER);
       }},
      {"OtherAdultWithoutRole",
       [](Request& r) { MutableReporter(r).set_type(v1::REPORTER_TYPE_OTHER_ADULT); }},
      {"FullContactDetails",
       [](Request& r) {
         MutableContact(r).set_name("Zo\xC3\xAB O'Brien-Smith");
         MutableContact(r).set_email("zoe.obrien+reports@example.org");
         MutableContact(r).set_phone("+44 (0)20 7946-0000");
       }},
      {"ContactAtMaximumLengths",
       [](Request& r) {
         MutableContact(r).set_name(std::string(200, 'n'));
         MutableContact(r).set_email(std::string(242, 's') + "@example.org");
         MutableContact(r).set_phone(std::string(32, '1'));
       }},
      {"EmptyContact", [](Request& r) { MutableContact(r).Clear(); }},
      {"AllSevenCategories",
       [](Request& r) {
         for (int c = 2; c <= 7; ++c) {
           r.mutable_report()->add_categories(static_cast<v1::ConcernCategory>(c));
         }
       }},
      {"ChannelsEmpty", [](Request& r) { r.mutable_report()->clear_channels(); }},
      {"AllSevenChannels",
       [](Request& r) {
         r.mutable_report()->clear_channels();
         for (int c = 1; c <= 7; ++c) r.mutable_report()->add_channels(static_cast<v1::Channel>(c));
       }},
      {"PlatformEmpty", [](Request& r) { r.mutable_report()->clear_platform(); }},
      {"Platform100Bytes",
       [](Request& r) { r.mutable_report()->set_platform(std::string(100, 'p')); }},
      {"PlatformMultibyte",
       [](Request& r) {
         r.mutable_report()->set_platform("\xE3\x83\x81\xE3\x83\xA3\xE3\x83\x83");
       }},
      {"RegionEmpty", [](Request& r) { r.mutable_report()->clear_region(); }},
      {"Region64Bytes", [](Request& r) { r.mutable_report()->set_region(std::string(64, 'r')); }},
      {"Description20000Bytes",
       [](Request& r) { r.mutable_report()->set_description(std::string(20000, 'd')); }},
      {"DescriptionOneCharacter", [](Request& r) { r.mutable_report()->set_description("x"); }},
      {"DescriptionMultibyteUtf8",
       [](Request& r) {
         // 2-, 3- and 4-byte sequences at the edges of their ranges.
         r.mutable_report()->set_description(
             "caf\xC3\xA9 \xC2\x80 \xDF\xBF \xE0\xA0\x80 \xE2\x82\xAC \xEF\xBF\xBF "
             "\xF0\x9F\x93\xB7 \xF0\x90\x80\x80 \xF4\x8F\xBF\xBF \xE5\xAD\x90");
       }},
      {"DescriptionWithNewlinesAndTabs",
       [](Request& r) {
         r.mutable_report()->set_description("First line.\nSecond line:\tindented.\r\nThird.");
       }},
  };
}

class ValidBoundaryTest : public ::testing::TestWithParam<ValidCase> {};

TEST_P(ValidBoundaryTest, IsAccepted) {
  v1::SubmitReportRequest request = Valid();
  GetParam().mutate(request);
  const absl::Status status = ValidateSubmitReport(request);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_FALSE(status.GetPayload(kBadRequestTypeUrl).has_value());
}

INSTANTIATE_TEST_SUITE_P(ValidationTest, ValidBoundaryTest, ::testing::ValuesIn(ValidCases()),
                         [](const ::testing::TestParamInfo<ValidCase>& info) {
                           return info.param.name;
                         });

// --- Several problems at once ----------------------------------------------------------

TEST(ValidationTest, ReportsEveryInvalidFieldAtOnce) {
  v1::SubmitReportRequest request = Valid();
  request.set_request_id("");
  MutableReporter(request).set_type(v1::REPORTER_TYPE_UNSPECIFIED);
  MutableContact(request).set_email("not-an-address");
  request.mutable_report()->set_child_age(18);
  request.mutable_report()->add_categories(v1::CONCERN_CATEGORY_GROOMING);
  request.mutable_report()->add_channels(v1::CHANNEL_UNSPECIFIED);
  request.mutable_report()->set_platform(std::string(101, 'p'));
  request.mutable_report()->set_region("R\xC3\xA9gion");
  request.mutable_report()->set_description("");
  const std::vector<std::string> expected = {
      "request_id",       "report.reporter.type", "report.reporter.contact.email",
      "report.child_age", "report.categories[1]", "report.channels[1]",
      "report.platform",  "report.region",        "report.description"};

  const absl::Status status = ValidateSubmitReport(request);

  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  ASSERT_TRUE(bad_request.has_value()) << status;
  EXPECT_THAT(FieldsOf(*bad_request), UnorderedElementsAreArray(expected));
  for (const std::string& field : expected) {
    EXPECT_THAT(status.message(), HasSubstr(field));
  }
}

TEST(ValidationTest, MissingReportIsReportedWithAnInvalidRequestId) {
  v1::SubmitReportRequest request = Valid();
  request.set_request_id(std::string(129, 'r'));
  request.clear_report();

  const absl::Status status = ValidateSubmitReport(request);

  std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  ASSERT_TRUE(bad_request.has_value()) << status;
  EXPECT_THAT(FieldsOf(*bad_request), UnorderedElementsAreArray({"request_id", "report"}));
}

TEST(ValidationTest, EachBadElementOfAListIsReported) {
  v1::SubmitReportRequest request = Valid();
  request.mutable_report()->add_categories(v1::CONCERN_CATEGORY_UNSPECIFIED);
  request.mutable_report()->add_categories(v1::CONCERN_CATEGORY_GROOMING);
  request.mutable_report()->add_categories(v1::CONCERN_CATEGORY_OTHER);

  const absl::Status status = ValidateSubmitReport(request);

  std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  ASSERT_TRUE(bad_request.has_value()) << status;
  EXPECT_THAT(FieldsOf(*bad_request),
              UnorderedElementsAreArray({"report.categories[1]", "report.categories[2]"}));
}

TEST(ValidationTest, ValidateSubmissionUsesTheGivenPrefix) {
  v1::ReportSubmission submission = ::safeguarding::testing::ValidSubmission();
  submission.set_child_age(18);
  FieldViolations violations;

  ValidateSubmission(submission, "reports[3]", violations);

  const absl::Status status = violations.ToStatus();
  std::optional<google::rpc::BadRequest> bad_request = BadRequestOf(status);
  ASSERT_TRUE(bad_request.has_value()) << status;
  EXPECT_THAT(FieldsOf(*bad_request), UnorderedElementsAreArray({"reports[3].child_age"}));
}

TEST(ValidationTest, EmptyFieldViolationsIsOk) { EXPECT_TRUE(FieldViolations().ToStatus().ok()); }

}  // namespace
}  // namespace safeguarding::triage
