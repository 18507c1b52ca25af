// SubmitReport and GetReport against a real in-process server on a free loopback port,
// with the embedded RocksDB in a temp dir.
#include <gmock/gmock.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/util/time_util.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "services/supervised_server.h"
#include "storage/report_store.h"
#include "tests/support/faulty_fs.h"
#include "tests/support/sample_reports.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ValidRequest;

// Health/Check's answer as bytes: HealthCheckResponse{status: SERVING (1) or NOT_SERVING (2)}.
std::string HealthStatusBytes(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::GenericStub generic(channel);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  grpc::ClientContext context;
  absl::Notification done;
  grpc::Status status;
  generic.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      status = s;
                      done.Notify();
                    });
  done.WaitForNotification();
  std::vector<grpc::Slice> slices;
  if (!status.ok() || !response.Dump(&slices).ok()) return "error";
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

class IntakeServerTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  void StartServer() {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path());
    options.clock = &clock_;
    auto server = services::TriageServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
  }

  void RestartServer() {
    intake_.reset();
    desk_.reset();
    channel_.reset();
    server_.reset();
    StartServer();
  }

  // Stops the server and counts the entries of the queue index on disk.
  int StopAndCountStoredReports() {
    server_.reset();
    auto store = storage::ReportStore::Open(testing::TestStoreOptions(dir_.Sub("db")));
    EXPECT_TRUE(store.ok()) << store.status();
    int n = 0;
    EXPECT_TRUE((*store)->queue().Scan([&](const storage::QueueKeyParts&) { ++n; }).ok());
    return n;
  }

  grpc::Status Submit(const v1::SubmitReportRequest& request, v1::SubmitReportResponse* out) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return intake_->SubmitReport(&context, request, out);
  }

  grpc::Status Get(const std::string& id, v1::Report* out) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::GetReportRequest request;
    request.set_report_id(id);
    return desk_->GetReport(&context, request, out);
  }

  // Field names of the google.rpc.BadRequest carried in a status's details.
  static std::vector<std::string> ViolatedFields(const grpc::Status& status) {
    std::vector<std::string> fields;
    google::rpc::Status details;
    EXPECT_TRUE(details.ParseFromString(status.error_details()));
    for (const auto& any : details.details()) {
      google::rpc::BadRequest bad;
      if (any.UnpackTo(&bad)) {
        for (const auto& v : bad.field_violations()) fields.push_back(v.field());
      }
    }
    return fields;
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1767225600)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<services::TriageServer> server_;
  std::unique_ptr<services::SupervisedServer> supervised_;  // closed before faulty_
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
};

TEST_F(IntakeServerTest, SubmitThenGetReturnsTheStoredReport) {
  v1::SubmitReportRequest request = ValidRequest("round-trip");
  v1::SubmitReportResponse response;
  ASSERT_TRUE(Submit(request, &response).ok());
  EXPECT_EQ(response.report_id().size(), 26u);
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(response.received_time()),
            absl::ToUnixMicros(clock_.Now()));
  EXPECT_THAT(response.advice(), HasSubstr("999"));

  v1::Report report;
  ASSERT_TRUE(Get(response.report_id(), &report).ok());
  EXPECT_EQ(report.id(), response.report_id());
  EXPECT_EQ(report.submission().SerializeAsString(), request.report().SerializeAsString());
  EXPECT_EQ(report.received_time().seconds(), response.received_time().seconds());
  EXPECT_EQ(report.state(), v1::REPORT_STATE_QUEUED);
  EXPECT_EQ(report.source(), v1::REPORT_SOURCE_INTAKE);
  EXPECT_EQ(report.event_count(), 1u);
  // The sample is a 13-year-old child reporting grooming: STANDARD, child queue, due 24 h.
  EXPECT_EQ(report.triage().priority(), v1::PRIORITY_STANDARD);
  EXPECT_EQ(report.triage().queue(), "child");
  EXPECT_EQ(TimeUtil::TimestampToMicroseconds(report.triage().due_time()),
            absl::ToUnixMicros(clock_.Now() + absl::Hours(24)));
  EXPECT_FALSE(report.triage().matched_rules().empty());
}

TEST_F(IntakeServerTest, RetryWithSameRequestIdReturnsTheFirstResponse) {
  v1::SubmitReportResponse first, retry;
  ASSERT_TRUE(Submit(ValidRequest("retry-me"), &first).ok());
  clock_.Advance(absl::Minutes(5));
  ASSERT_TRUE(Submit(ValidRequest("retry-me"), &retry).ok());
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(StopAndCountStoredReports(), 1);
}

TEST_F(IntakeServerTest, ReusedRequestIdWithDifferentContentIsAlreadyExists) {
  v1::SubmitReportResponse first, second;
  ASSERT_TRUE(Submit(ValidRequest("reused"), &first).ok());
  v1::SubmitReportRequest different = ValidRequest("reused");
  different.mutable_report()->set_description("A different concern entirely.");
  grpc::Status status = Submit(different, &second);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  v1::Report stored;
  ASSERT_TRUE(Get(first.report_id(), &stored).ok());
  EXPECT_EQ(stored.submission().description(), ValidRequest("x").report().description());
  EXPECT_EQ(StopAndCountStoredReports(), 1);
}

TEST_F(IntakeServerTest, InvalidReportNamesEveryBadFieldAndStoresNothing) {
  v1::SubmitReportRequest bad = ValidRequest("bad one");  // space: invalid request id
  bad.mutable_report()->mutable_reporter()->set_type(v1::REPORTER_TYPE_UNSPECIFIED);
  bad.mutable_report()->set_child_age(18);
  bad.mutable_report()->clear_categories();
  bad.mutable_report()->set_description("");
  v1::SubmitReportResponse response;
  grpc::Status status = Submit(bad, &response);
  ASSERT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(status),
              ElementsAre("request_id", "report.reporter.type", "report.child_age",
                          "report.categories", "report.description"));
  EXPECT_THAT(status.error_message(), HasSubstr("report.child_age"));
  EXPECT_EQ(StopAndCountStoredReports(), 0);
}

TEST_F(IntakeServerTest, GetReportOfUnknownIdIsNotFoundAndMalformedIdIsInvalid) {
  v1::SubmitReportResponse submitted;
  ASSERT_TRUE(Submit(ValidRequest("exists"), &submitted).ok());
  std::string unknown = submitted.report_id();
  unknown.back() = unknown.back() == '0' ? '1' : '0';
  v1::Report report;
  EXPECT_EQ(Get(unknown, &report).error_code(), grpc::StatusCode::NOT_FOUND);
  grpc::Status malformed = Get("not-a-report-id", &report);
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(ViolatedFields(malformed), ElementsAre("report_id"));
}

TEST_F(IntakeServerTest, ConcurrentSubmitsFrom32ThreadsAreEachStoredExactlyOnce) {
  constexpr int kThreads = 32;
  constexpr int kPerThread = 100;
  absl::Mutex mu;
  std::set<std::string> ids;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto stub = v1::ReportIntake::NewStub(channel_);
      for (int i = 0; i < kPerThread; ++i) {
        v1::SubmitReportRequest request = ValidRequest(absl::StrCat("c-", t, "-", i));
        request.mutable_report()->set_description(absl::StrCat("report ", t, "/", i));
        // Every second submit is retried at once, as a client on a flaky network would.
        for (int attempt = 0; attempt < 1 + (i % 2); ++attempt) {
          grpc::ClientContext context;
          testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
          v1::SubmitReportResponse response;
          if (!stub->SubmitReport(&context, request, &response).ok()) {
            failures.fetch_add(1);
            continue;
          }
          absl::MutexLock lock(&mu);
          ids.insert(response.report_id());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const std::string& id : {*ids.begin(), *ids.rbegin()}) {
    v1::Report report;
    EXPECT_TRUE(Get(id, &report).ok()) << id;
  }
  EXPECT_EQ(StopAndCountStoredReports(), kThreads * kPerThread);
}

TEST_F(IntakeServerTest, RestartKeepsEveryReport) {
  std::vector<std::pair<std::string, std::string>> stored;  // id, description
  for (int i = 0; i < 50; ++i) {
    v1::SubmitReportRequest request = ValidRequest(absl::StrCat("restart-", i));
    request.mutable_report()->set_description(absl::StrCat("restart report ", i));
    v1::SubmitReportResponse response;
    ASSERT_TRUE(Submit(request, &response).ok());
    stored.emplace_back(response.report_id(), request.report().description());
  }
  RestartServer();
  for (const auto& [id, description] : stored) {
    v1::Report report;
    ASSERT_TRUE(Get(id, &report).ok()) << id;
    EXPECT_EQ(report.submission().description(), description);
  }
}

TEST_F(IntakeServerTest, OversizedRequestIsRejectedByTheMessageLimit) {
  v1::SubmitReportRequest huge = ValidRequest("huge");
  huge.mutable_report()->set_description(std::string(2 << 20, 'a'));
  v1::SubmitReportResponse response;
  EXPECT_EQ(Submit(huge, &response).error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(IntakeServerTest, HealthCheckReportsServing) {
  EXPECT_EQ(HealthStatusBytes(channel_), std::string("\x08\x01", 2));
}

TEST_F(IntakeServerTest, SecondServerOnTheSamePortFailsInsteadOfSharingIt) {
  services::ServerOptions options =
      testing::LoopbackTestOptions(dir_.Sub("other-db"), credentials_.path());
  options.listen = server_->address();
  auto second = services::TriageServer::Start(options);
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen"));
}

// A server on a store whose disk the test can fail (FaultyEnv) or whose free space it sets.
class IntakeServerFaultTest : public ::testing::Test {
 protected:
  static constexpr char kServing[] = "\x08\x01";
  static constexpr char kNotServing[] = "\x08\x02";

  IntakeServerFaultTest()
      : credentials_(dir_.Sub("credentials")),
        options_(testing::LoopbackTestOptions(dir_.Sub("db"), credentials_.path())) {
    options_.storage_env = faulty_.env.get();
    options_.commit.probe_interval = absl::Milliseconds(100);
  }

  // Starts (or restarts) the server with options_.
  void Start() {
    server_.reset();
    auto server = services::TriageServer::Start(options_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
  }
  // Starts a supervised server (main()'s), which reopens the store after a fatal fault.
  void StartSupervised() {
    auto server = services::SupervisedServer::Start(options_, absl::Seconds(1));
    ASSERT_TRUE(server.ok()) << server.status();
    supervised_ = *std::move(server);
    channel_ = grpc::CreateChannel(supervised_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
  }
  // Restarts on a healthy disk, the same files.
  void RestartHealthy() {
    options_.storage_env = nullptr;
    Start();
  }

  grpc::Status Submit(const std::string& request_id, v1::SubmitReportResponse* out) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    return intake_->SubmitReport(&context, ValidRequest(request_id), out);
  }
  // Submits `request_id` and expects a storage fault's refusal, which asks for a retry.
  void ExpectStorageRefusal(const std::string& request_id) {
    v1::SubmitReportResponse response;
    grpc::Status status = Submit(request_id, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(status.error_message(), HasSubstr("retry with the same request_id"));
  }
  grpc::Status Get(const std::string& report_id) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::GetReportRequest get;
    get.set_report_id(report_id);
    v1::Report report;
    return desk_->GetReport(&context, get, &report);
  }
  std::string Health() { return HealthStatusBytes(channel_); }
  // Polls health until it is `expected` or the time is up; returns the last answer.
  std::string AwaitHealth(const std::string& expected, absl::Duration within) {
    const absl::Time give_up = absl::Now() + within;
    std::string health = Health();
    while (health != expected && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(50));
      health = Health();
    }
    return health;
  }
  // Polls until the supervised server has reopened its store `n` times.
  bool AwaitReopens(int n, absl::Duration within) {
    const absl::Time give_up = absl::Now() + within;
    while (supervised_->reopens() < n && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return supervised_->reopens() == n;
  }
  bool AuditTrailIntact() {
    auto admin = v1::Administration::NewStub(channel_);
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
    v1::VerifyAuditLogResponse trail;
    grpc::Status verified = admin->VerifyAuditLog(&context, v1::VerifyAuditLogRequest(), &trail);
    EXPECT_TRUE(verified.ok()) << verified.error_message();
    EXPECT_TRUE(trail.intact()) << trail.problem();
    EXPECT_GT(trail.entries_checked(), 0u);
    return verified.ok() && trail.intact();
  }
  uint64_t Waiting() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::ListQueuesResponse queues;
    EXPECT_TRUE(desk_->ListQueues(&context, v1::ListQueuesRequest(), &queues).ok());
    uint64_t waiting = 0;
    for (const v1::QueueSummary& queue : queues.queues()) waiting += queue.depth();
    return waiting;
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_;
  testing::FaultyEnv faulty_;
  services::ServerOptions options_;
  std::unique_ptr<services::TriageServer> server_;
  std::unique_ptr<services::SupervisedServer> supervised_;  // closed before faulty_
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
};

// An I/O error on the WAL (a failing device): UNAVAILABLE, NOT_SERVING, reads refused too
// (their audit entry cannot be written); after a restart on a healthy disk the acknowledged
// report is there and the client's retry is stored.
TEST_F(IntakeServerFaultTest, ADiskFaultAnswersUnavailableFlipsHealthAndLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::SubmitReportResponse before;
  ASSERT_TRUE(Submit("before-fault", &before).ok());
  EXPECT_EQ(Health(), kServing);

  faulty_.fs->set_fail_wal(true);
  v1::SubmitReportResponse lost;
  grpc::Status failed = Submit("during-fault", &lost);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(failed.error_message(), HasSubstr("retry with the same request_id"));
  EXPECT_THAT(failed.error_message(), ::testing::Not(HasSubstr("injected")))
      << "storage internals stay on the server";
  EXPECT_FALSE(server_->store_writable());
  EXPECT_EQ(Health(), kNotServing);
  // A read needs its audit entry written first: nothing is disclosed without a trace.
  EXPECT_EQ(Get(before.report_id()).error_code(), grpc::StatusCode::UNAVAILABLE);

  faulty_.fs->set_fail_wal(false);
  ASSERT_NO_FATAL_FAILURE(RestartHealthy());
  EXPECT_EQ(Health(), kServing);
  v1::SubmitReportResponse retried;
  EXPECT_TRUE(Submit("during-fault", &retried).ok());
  EXPECT_TRUE(Get(before.report_id()).ok());
}

// The disk fills under RocksDB (ENOSPC from a WAL append): writes answer UNAVAILABLE and
// health NOT_SERVING; when space returns the store resumes in-process (no restart, no client
// write needed first), the client's retry is stored once and nothing acknowledged is lost.
TEST_F(IntakeServerFaultTest, AFullDiskAnswersUnavailableAndRecoversWithoutARestart) {
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::SubmitReportResponse before;
  ASSERT_TRUE(Submit("before-full", &before).ok());

  faulty_.fs->set_wal_disk_full(true);
  ExpectStorageRefusal("while-full");
  EXPECT_EQ(Health(), kNotServing);
  absl::SleepFor(absl::Milliseconds(500));  // several probes, all on a full disk
  EXPECT_EQ(Health(), kNotServing);
  EXPECT_FALSE(server_->store_writable());

  faulty_.fs->set_wal_disk_full(false);  // space returns; nobody writes meanwhile
  ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing);
  EXPECT_TRUE(server_->store_writable());
  v1::SubmitReportResponse retried, again;
  ASSERT_TRUE(Submit("while-full", &retried).ok());
  ASSERT_TRUE(Submit("while-full", &again).ok());
  EXPECT_EQ(again.report_id(), retried.report_id()) << "the retry is one report";

  ASSERT_NO_FATAL_FAILURE(RestartHealthy());  // the same files: both reports, each once
  EXPECT_TRUE(Get(before.report_id()).ok());
  EXPECT_TRUE(Get(retried.report_id()).ok());
  EXPECT_EQ(Waiting(), 2u);
}

// The server as main() runs it, on a failing device (EIO on every write, the WAL's too):
// UNAVAILABLE and NOT_SERVING while it fails, no reopen while it still fails; once the
// device takes writes again the store is reopened in this process, on the same port, with
// no restart and no client action: every acknowledged report is there, the client's retry
// is stored once, and the audit chain verifies across the reopen. A full disk before it
// heals in place and needs no reopen.
TEST_F(IntakeServerFaultTest, AFailingDeviceIsHealedByReopeningTheStoreInProcess) {
  ASSERT_NO_FATAL_FAILURE(StartSupervised());
  const std::string address = supervised_->address();
  v1::SubmitReportResponse before;
  ASSERT_TRUE(Submit("before-fault", &before).ok());

  faulty_.fs->set_wal_disk_full(true);
  ExpectStorageRefusal("while-full");
  faulty_.fs->set_wal_disk_full(false);
  ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing);
  EXPECT_EQ(supervised_->reopens(), 0) << "RocksDB resumes from a full disk in place";

  faulty_.fs->set_fail_device(true);
  ExpectStorageRefusal("during-fault");
  EXPECT_EQ(Health(), kNotServing);
  absl::SleepFor(absl::Milliseconds(600));  // several probes, all on the failing device
  // Still this server, not a reopen attempt (a refused port would answer "error").
  EXPECT_EQ(Health(), kNotServing) << "a reopen on a failing device would fail too";
  EXPECT_EQ(supervised_->reopens(), 0);
  EXPECT_FALSE(supervised_->store_writable());
  ExpectStorageRefusal("during-fault");

  faulty_.fs->set_fail_device(false);  // repaired; nobody writes meanwhile
  ASSERT_TRUE(AwaitReopens(1, absl::Seconds(30)));
  ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing);
  EXPECT_TRUE(supervised_->store_writable());
  EXPECT_EQ(supervised_->address(), address) << "the same port after the reopen";

  v1::SubmitReportResponse retried, again;
  ASSERT_TRUE(Submit("during-fault", &retried).ok());
  ASSERT_TRUE(Submit("during-fault", &again).ok());
  EXPECT_EQ(again.report_id(), retried.report_id()) << "the retry is one report";
  v1::SubmitReportResponse after_full;
  ASSERT_TRUE(Submit("while-full", &after_full).ok());
  EXPECT_TRUE(Get(before.report_id()).ok());
  EXPECT_EQ(Waiting(), 3u) << "before-fault, while-full and during-fault, each once";

  EXPECT_TRUE(AuditTrailIntact());
}

// A reopen whose start fails in a way retrying cannot mend (here the credentials file was
// damaged meanwhile) is not retried for ever with nobody told: the supervisor ends with that
// error (main() then exits non-zero, so the service manager restarts it, visibly).
TEST_F(IntakeServerFaultTest, AReopenThatCannotStartEndsTheSupervisorWithTheError) {
  ASSERT_NO_FATAL_FAILURE(StartSupervised());
  faulty_.fs->set_fail_device(true);
  ExpectStorageRefusal("during-fault");
  {
    std::ofstream damaged(credentials_.path(), std::ios::trunc);
    damaged << "not a credentials file\n";
  }
  faulty_.fs->set_fail_device(false);
  absl::Status ended = supervised_->Wait();
  EXPECT_FALSE(ended.ok());
  EXPECT_NE(ended.code(), absl::StatusCode::kUnavailable) << ended;
  EXPECT_THAT(std::string(ended.message()), HasSubstr(credentials_.path()));
  EXPECT_EQ(supervised_->reopens(), 0);
  EXPECT_NE(Health(), kServing);
}

// A device that fails again after every reopen: at most kMaxReopensPerHour reopens, then
// the server stays up, NOT_SERVING, for an operator.
TEST_F(IntakeServerFaultTest, ADeviceThatKeepsFailingIsReopenedAtMostFiveTimesAnHour) {
  ASSERT_NO_FATAL_FAILURE(StartSupervised());
  constexpr int kMax = services::SupervisedServer::kMaxReopensPerHour;
  for (int i = 0; i <= kMax; ++i) {
    ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing) << "cycle " << i;
    faulty_.fs->set_fail_device(true);
    ExpectStorageRefusal(absl::StrCat("cycle-", i));
    faulty_.fs->set_fail_device(false);
    if (i < kMax) {
      ASSERT_TRUE(AwaitReopens(i + 1, absl::Seconds(30))) << "cycle " << i;
    }
  }
  absl::SleepFor(absl::Milliseconds(800));  // several probes on a working disk
  EXPECT_EQ(supervised_->reopens(), kMax);
  EXPECT_EQ(Health(), kNotServing) << "the same server, up and refusing writes";
}

// A sync that failed after its append went through (EIO on fsync): the writer was told
// UNAVAILABLE, yet the record may be in the log that the reopen replays. Either way the
// client's retry with the same request_id is one report, and the chain stays whole.
TEST_F(IntakeServerFaultTest, AWriteWhoseSyncFailedIsOneReportAfterTheReopenAndTheRetry) {
  ASSERT_NO_FATAL_FAILURE(StartSupervised());
  v1::SubmitReportResponse before;
  ASSERT_TRUE(Submit("before-fault", &before).ok());

  faulty_.fs->set_fail_device_syncs(true);
  ExpectStorageRefusal("sync-failed");
  EXPECT_EQ(Health(), kNotServing);
  faulty_.fs->set_fail_device_syncs(false);
  ASSERT_TRUE(AwaitReopens(1, absl::Seconds(30)));
  ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing);

  v1::SubmitReportResponse retried, again;
  ASSERT_TRUE(Submit("sync-failed", &retried).ok());
  ASSERT_TRUE(Submit("sync-failed", &again).ok());
  EXPECT_EQ(again.report_id(), retried.report_id());
  EXPECT_EQ(Waiting(), 2u) << "before-fault and sync-failed, each once";
  EXPECT_TRUE(Get(retried.report_id()).ok());
  EXPECT_TRUE(AuditTrailIntact());
}

// A SIGHUP that comes while the store is being reopened (main() calls ReloadCredentials)
// is not lost: here the reopen's start has read the credentials file, then the operator
// revokes a token and sends SIGHUP before the new server is up. The reload is answered
// UNAVAILABLE and applied to the new server before it takes calls (so the reopen, which
// AwaitReopens sees, comes after it), and the revoked token is refused.
TEST_F(IntakeServerFaultTest, ACredentialsReloadDuringTheReopenIsAppliedToTheNewServer) {
  const std::string revoked = credentials_.token(v1::ROLE_TRIAGER);
  const std::string revoked_principal = testing::TestCredentials::PrincipalFor(v1::ROLE_TRIAGER);
  std::atomic<int> starts{0};
  absl::Status reload_during_reopen;  // written on the supervisor's thread, read after
  absl::Notification reloaded;
  options_.after_files_read = [&] {
    if (++starts != 2) return;  // the first is StartSupervised's, the second the reopen's
    std::ifstream in(credentials_.path());
    std::string kept, line;
    while (std::getline(in, line)) {
      if (line.find(revoked_principal) == std::string::npos) kept += line + "\n";
    }
    in.close();
    std::ofstream(credentials_.path(), std::ios::trunc) << kept;
    reload_during_reopen = supervised_->ReloadCredentials();
    reloaded.Notify();
  };
  auto list_queues_as = [&](const std::string& token) {
    grpc::ClientContext context;
    testing::Authorize(context, token);
    v1::ListQueuesResponse queues;
    return desk_->ListQueues(&context, v1::ListQueuesRequest(), &queues).error_code();
  };
  ASSERT_NO_FATAL_FAILURE(StartSupervised());
  ASSERT_EQ(list_queues_as(revoked), grpc::StatusCode::OK) << "before the revocation";

  faulty_.fs->set_fail_device(true);
  ExpectStorageRefusal("during-fault");
  faulty_.fs->set_fail_device(false);
  ASSERT_TRUE(AwaitReopens(1, absl::Seconds(30)));
  ASSERT_TRUE(reloaded.HasBeenNotified());
  EXPECT_EQ(reload_during_reopen.code(), absl::StatusCode::kUnavailable) << reload_during_reopen;
  ASSERT_EQ(AwaitHealth(kServing, absl::Seconds(30)), kServing);

  EXPECT_EQ(list_queues_as(revoked), grpc::StatusCode::UNAUTHENTICATED)
      << "the token revoked during the reopen is still in force";
  v1::SubmitReportResponse after;
  EXPECT_TRUE(Submit("after-reopen", &after).ok()) << "the other principals are kept";
  EXPECT_EQ(starts, 2) << "one reopen, so the revocation happened during it";
  supervised_.reset();  // before the locals the hook refers to go
}

// Free space below --min_free_disk_mb: writes are refused before the disk fills under
// RocksDB (where every background job would fail too), health says NOT_SERVING, and once
// there is room again the committer's own probe brings the server back without a restart
// and without any client writing first; nothing acknowledged is lost.
TEST_F(IntakeServerFaultTest, ANearlyFullDiskIsRefusedEarlyAndHealsWithoutARestart) {
  std::atomic<uint64_t> free_bytes{uint64_t{10} << 30};
  options_.commit.min_free_bytes = uint64_t{1} << 30;
  options_.commit.free_bytes = [&]() -> absl::StatusOr<uint64_t> { return free_bytes.load(); };
  ASSERT_NO_FATAL_FAILURE(Start());
  v1::SubmitReportResponse before;
  ASSERT_TRUE(Submit("before-full", &before).ok());

  free_bytes = uint64_t{300} << 20;  // 300 MB left: under the 1 GB kept free
  v1::SubmitReportResponse refused;
  grpc::Status full = Submit("while-full", &refused);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(full.error_message(), HasSubstr("retry with the same request_id"));
  EXPECT_FALSE(server_->store_writable());
  EXPECT_EQ(Health(), kNotServing);
  absl::SleepFor(absl::Milliseconds(300));  // it stays refused while the disk stays full
  EXPECT_EQ(Health(), kNotServing);

  free_bytes = uint64_t{5} << 30;  // room again; no client writes meanwhile
  EXPECT_EQ(AwaitHealth(kServing, absl::Seconds(10)), kServing);
  EXPECT_TRUE(server_->store_writable());
  v1::SubmitReportResponse retried;
  ASSERT_TRUE(Submit("while-full", &retried).ok());
  EXPECT_TRUE(Get(before.report_id()).ok());
}

}  // namespace
}  // namespace safeguarding
