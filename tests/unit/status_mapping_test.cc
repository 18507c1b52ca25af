// Tests of services/status_mapping.h: codes, the rich error details clients parse, and
// that server internals never reach a client.
#include "services/status_mapping.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "tests/support/sample_reports.h"
#include "triage/validation.h"

namespace safeguarding::services {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// The standard type URL of google.rpc.BadRequest, as clients expect it.
constexpr char kStandardBadRequestUrl[] = "type.googleapis.com/google.rpc.BadRequest";

google::rpc::BadRequest SampleBadRequest() {
  google::rpc::BadRequest bad_request;
  auto* v = bad_request.add_field_violations();
  v->set_field("report.child_age");
  v->set_description("must be between 0 and 17 (got 18)");
  v = bad_request.add_field_violations();
  v->set_field("request_id");
  v->set_description("is required");
  return bad_request;
}

absl::Status InvalidWithBadRequest(const google::rpc::BadRequest& bad_request) {
  absl::Status status = absl::InvalidArgumentError("invalid fields: report.child_age, request_id");
  status.SetPayload(kStandardBadRequestUrl, absl::Cord(bad_request.SerializeAsString()));
  return status;
}

TEST(StatusMappingTest, OkMapsToOk) {
  const grpc::Status status = ToGrpcStatus(absl::OkStatus());
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::OK);
  EXPECT_THAT(status.error_details(), IsEmpty());
}

TEST(StatusMappingTest, EveryCanonicalCodeMapsToTheSameGrpcCode) {
  struct CodePair {
    absl::StatusCode absl_code;
    grpc::StatusCode grpc_code;
    int number;
  };
  const std::vector<CodePair> pairs = {
      {absl::StatusCode::kCancelled, grpc::StatusCode::CANCELLED, 1},
      {absl::StatusCode::kUnknown, grpc::StatusCode::UNKNOWN, 2},
      {absl::StatusCode::kInvalidArgument, grpc::StatusCode::INVALID_ARGUMENT, 3},
      {absl::StatusCode::kDeadlineExceeded, grpc::StatusCode::DEADLINE_EXCEEDED, 4},
      {absl::StatusCode::kNotFound, grpc::StatusCode::NOT_FOUND, 5},
      {absl::StatusCode::kAlreadyExists, grpc::StatusCode::ALREADY_EXISTS, 6},
      {absl::StatusCode::kPermissionDenied, grpc::StatusCode::PERMISSION_DENIED, 7},
      {absl::StatusCode::kResourceExhausted, grpc::StatusCode::RESOURCE_EXHAUSTED, 8},
      {absl::StatusCode::kFailedPrecondition, grpc::StatusCode::FAILED_PRECONDITION, 9},
      {absl::StatusCode::kAborted, grpc::StatusCode::ABORTED, 10},
      {absl::StatusCode::kOutOfRange, grpc::StatusCode::OUT_OF_RANGE, 11},
      {absl::StatusCode::kUnimplemented, grpc::StatusCode::UNIMPLEMENTED, 12},
      {absl::StatusCode::kInternal, grpc::StatusCode::INTERNAL, 13},
      {absl::StatusCode::kUnavailable, grpc::StatusCode::UNAVAILABLE, 14},
      {absl::StatusCode::kDataLoss, grpc::StatusCode::DATA_LOSS, 15},
      {absl::StatusCode::kUnauthenticated, grpc::StatusCode::UNAUTHENTICATED, 16},
  };
  for (const CodePair& p : pairs) {
    const grpc::Status status = ToGrpcStatus(absl::Status(p.absl_code, "something happened"));
    EXPECT_FALSE(status.ok()) << p.number;
    EXPECT_EQ(status.error_code(), p.grpc_code) << p.number;
    EXPECT_EQ(static_cast<int>(status.error_code()), p.number);
    EXPECT_THAT(status.error_message(), Not(IsEmpty())) << p.number;
  }
}

TEST(StatusMappingTest, ClientActionableMessagesAreKept) {
  for (absl::StatusCode code :
       {absl::StatusCode::kInvalidArgument, absl::StatusCode::kNotFound,
        absl::StatusCode::kFailedPrecondition, absl::StatusCode::kPermissionDenied}) {
    const grpc::Status status = ToGrpcStatus(absl::Status(code, "report 01HX is not claimed"));
    EXPECT_EQ(status.error_message(), "report 01HX is not claimed") << static_cast<int>(code);
  }
}

TEST(StatusMappingTest, BadRequestPayloadBecomesRichErrorDetails) {
  const google::rpc::BadRequest sent = SampleBadRequest();

  const grpc::Status status = ToGrpcStatus(InvalidWithBadRequest(sent));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("report.child_age"));
  ASSERT_THAT(status.error_details(), Not(IsEmpty()));
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  EXPECT_EQ(details.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(details.message(), status.error_message());
  ASSERT_EQ(details.details_size(), 1);
  EXPECT_TRUE(details.details(0).Is<google::rpc::BadRequest>()) << details.details(0).type_url();
  google::rpc::BadRequest received;
  ASSERT_TRUE(details.details(0).UnpackTo(&received));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(received, sent))
      << received.DebugString();
}

TEST(StatusMappingTest, ValidationFailureReachesClientsAsBadRequest) {
  triage::v1::SubmitReportRequest request = ::safeguarding::testing::ValidRequest("req-1");
  request.mutable_report()->set_child_age(18);

  const grpc::Status status = ToGrpcStatus(triage::ValidateSubmitReport(request));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(status.error_details()));
  ASSERT_EQ(details.details_size(), 1);
  google::rpc::BadRequest received;
  ASSERT_TRUE(details.details(0).UnpackTo(&received));
  ASSERT_EQ(received.field_violations_size(), 1);
  EXPECT_EQ(received.field_violations(0).field(), "report.child_age");
}

TEST(StatusMappingTest, InternalMessageIsReplacedByAGenericOne) {
  const std::string internal_text =
      "rocksdb: IO error: /var/lib/triage/db/000123.sst: checksum mismatch in block 7";

  const grpc::Status status = ToGrpcStatus(absl::InternalError(internal_text));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL);
  EXPECT_THAT(status.error_message(), Not(IsEmpty()));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("/var/lib")));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("000123.sst")));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("rocksdb")));
  EXPECT_THAT(status.error_details(), Not(HasSubstr("/var/lib")));
}

TEST(StatusMappingTest, DataLossMessageIsReplacedByAGenericOne) {
  const std::string internal_text = "Corruption: bad record length in /srv/triage/data/LOG.old";

  const grpc::Status status = ToGrpcStatus(absl::DataLossError(internal_text));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(status.error_message(), Not(IsEmpty()));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("/srv/triage")));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("Corruption")));
  EXPECT_THAT(status.error_details(), Not(HasSubstr("/srv/triage")));
}

TEST(StatusMappingTest, UnavailableKeepsItsCode) {
  const grpc::Status status =
      ToGrpcStatus(absl::UnavailableError("IO error: No space left on device: /var/lib/triage"));

  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), Not(IsEmpty()));
  EXPECT_THAT(status.error_message(), Not(HasSubstr("/var/lib/triage")));
}

TEST(StatusMappingTest, StatusWithoutPayloadHasNoErrorDetails) {
  for (const absl::Status& in :
       {absl::InvalidArgumentError("request_id is required"), absl::NotFoundError("no report"),
        absl::InternalError("boom"), absl::UnavailableError("busy")}) {
    const grpc::Status status = ToGrpcStatus(in);
    EXPECT_THAT(status.error_details(), IsEmpty()) << in;
  }
}

}  // namespace
}  // namespace safeguarding::services
