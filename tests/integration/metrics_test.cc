// The Prometheus endpoint through a real server on loopback: /metrics is fetched over a
// plain socket and its text format parsed here. RPCs are counted by method and code;
// counts of reports are left out while 1..k-1 and exact from k; the queue gauges follow
// claims and decisions; the commit histograms fill; nothing of a report or a token shows;
// an empty --metrics_listen serves nothing; a taken port fails the start.
#include <arpa/inet.h>
#include <dirent.h>
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"
#include "storage/audit_trail.h"
#include "tests/support/raw_db.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

namespace safeguarding {
namespace {

namespace v1 = ::safeguarding::triage::v1;
using ::testing::HasSubstr;

// --- A tiny HTTP client and a parser of the text exposition format. ---

struct HttpResponse {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET http://127.0.0.1:port/path over a plain socket (HTTP/1.0: the server closes).
HttpResponse HttpGet(int port, const std::string& path = "/metrics") {
  HttpResponse response;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return response;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
    const std::string request = absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[16384];
      for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) raw.append(buffer, n);
    }
  }
  ::close(fd);
  const size_t end_of_headers = raw.find("\r\n\r\n");
  std::vector<std::string> status_line = absl::StrSplit(raw.substr(0, raw.find("\r\n")), ' ');
  if (end_of_headers == std::string::npos || status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &response.status)) {
    return HttpResponse{};
  }
  response.body = raw.substr(end_of_headers + 4);
  return response;
}

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  Labels labels;
  double value = 0;
};

struct Scrape {
  std::string text;
  std::vector<Sample> samples;
  std::map<std::string, std::string> help, type;  // by family name

  // The value of the sample `name` with exactly `labels`, if there is one.
  std::optional<double> Value(const std::string& name, const Labels& labels = {}) const {
    for (const Sample& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    return std::nullopt;
  }
  // Every sample of `name`.
  std::vector<Sample> All(const std::string& name) const {
    std::vector<Sample> out;
    for (const Sample& s : samples) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }
};

// Labels `{a="x",b="y"}` from `text` at `pos` (just past the '{'); false if malformed.
bool ParseLabels(const std::string& text, size_t& pos, Labels& labels) {
  while (pos < text.size() && text[pos] != '}') {
    const size_t eq = text.find('=', pos);
    if (eq == std::string::npos || eq + 1 >= text.size() || text[eq + 1] != '"') return false;
    std::string name = text.substr(pos, eq - pos), value;
    size_t i = eq + 2;
    for (; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] == '\\' && i + 1 < text.size()) {
        ++i;
        value += text[i] == 'n' ? '\n' : text[i];
      } else {
        value += text[i];
      }
    }
    if (i >= text.size()) return false;
    labels[name] = value;
    pos = i + 1;
    if (pos < text.size() && text[pos] == ',') ++pos;
  }
  if (pos >= text.size()) return false;
  ++pos;  // '}'
  return true;
}

// One `name{labels} value [timestamp]` line into `sample`; false if malformed.
bool ParseSampleLine(const std::string& line, Sample& sample) {
  size_t pos = line.find_first_of("{ ");
  if (pos == std::string::npos || pos == 0) return false;
  sample.name = line.substr(0, pos);
  if (line[pos] == '{') {
    ++pos;
    if (!ParseLabels(line, pos, sample.labels)) return false;
  }
  std::vector<std::string> rest =
      absl::StrSplit(absl::StripLeadingAsciiWhitespace(line.substr(pos)), ' ');
  if (rest.empty()) return false;
  if (rest[0] == "+Inf") {
    sample.value = std::numeric_limits<double>::infinity();
    return true;
  }
  return absl::SimpleAtod(rest[0], &sample.value);
}

// The text format: HELP and TYPE comments and sample lines. Malformed lines fail the test.
Scrape Parse(const std::string& text) {
  Scrape scrape;
  scrape.text = text;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    const bool help = absl::ConsumePrefix(&line, "# HELP ");
    if (help || absl::ConsumePrefix(&line, "# TYPE ")) {
      std::pair<std::string, std::string> name_rest = absl::StrSplit(line, absl::MaxSplits(' ', 1));
      (help ? scrape.help : scrape.type)[name_rest.first] = name_rest.second;
      continue;
    }
    if (absl::StartsWith(line, "#")) continue;
    Sample sample;
    EXPECT_TRUE(ParseSampleLine(std::string(line), sample)) << "malformed line: " << line;
    scrape.samples.push_back(std::move(sample));
  }
  return scrape;
}

// An enum value as the metrics label it: "PRIORITY_URGENT" -> "URGENT".
template <typename Enum>
std::string Label(const google::protobuf::EnumDescriptor* type, Enum value) {
  const std::string prefix(absl::StripSuffix(type->value(0)->name(), "UNSPECIFIED"));
  return std::string(absl::StripPrefix(type->FindValueByNumber(value)->name(), prefix));
}

// The sockets this process listens on (TCP, IPv4 and IPv6), by inode.
std::set<std::string> ListeningSockets() {
  std::set<std::string> ours;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* entry = ::readdir(dir)) {
      char target[256];
      const std::string link = absl::StrCat("/proc/self/fd/", entry->d_name);
      const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
      if (n <= 0) continue;
      absl::string_view name(target, static_cast<size_t>(n));
      if (absl::ConsumePrefix(&name, "socket:[") && absl::ConsumeSuffix(&name, "]")) {
        ours.insert(std::string(name));
      }
    }
    ::closedir(dir);
  }
  std::set<std::string> listening;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (fields.size() > 9 && fields[3] == "0A" && ours.contains(fields[9])) {
        listening.insert(fields[9]);
      }
    }
  }
  return listening;
}

// A loopback port with a listening socket on it, held until destroyed.
class TakenPort {
 public:
  TakenPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot take a loopback port");
    }
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// --- The fixture: a server on loopback with metrics on a free port. ---

constexpr char kReceived[] = "triage_reports_received_total";
// Every series that counts reports.
const std::set<std::string> kReportCounts = {kReceived,
                                             "triage_claims_total",
                                             "triage_decisions_total",
                                             "triage_queue_depth",
                                             "triage_queue_claimed",
                                             "triage_queue_past_due"};

class MetricsTest : public ::testing::Test {
 protected:
  void SetUp() override { StartServer(); }

  services::ServerOptions Options(const std::string& db = "db") {
    services::ServerOptions options =
        testing::LoopbackTestOptions(dir_.Sub(db), credentials_.path());
    options.metrics_listen = "127.0.0.1:0";
    options.clock = &clock_;
    return options;
  }

  void StartServer() {
    auto server = services::TriageServer::Start(Options());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_NE(server_->metrics_port(), 0);
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel_);
    desk_ = v1::TriageDesk::NewStub(channel_);
  }

  Scrape Get() {
    HttpResponse response = HttpGet(server_->metrics_port());
    EXPECT_EQ(response.status, 200);
    return Parse(response.body);
  }

  // Scrapes until `done` holds (the RPC counts are added once gRPC is done with a call,
  // which may be just after the client has its answer), or 10 s pass.
  Scrape GetWhen(const std::function<bool(const Scrape&)>& done) {
    Scrape scrape = Get();
    for (absl::Time give_up = absl::Now() + absl::Seconds(10);
         !done(scrape) && absl::Now() < give_up;) {
      absl::SleepFor(absl::Milliseconds(20));
      scrape = Get();
    }
    return scrape;
  }

  grpc::Status Submit(const v1::SubmitReportRequest& request, const std::string& token,
                      v1::SubmitReportResponse* response = nullptr) {
    grpc::ClientContext context;
    testing::Authorize(context, token);
    v1::SubmitReportResponse ignored;
    return intake_->SubmitReport(&context, request, response ? response : &ignored);
  }

  std::string SubmitOk(int n) {
    v1::SubmitReportResponse response;
    grpc::Status status = Submit(testing::ValidRequest(absl::StrCat("metrics-", n)),
                                 credentials_.token(v1::ROLE_INTAKE), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.report_id();
  }

  v1::Report GetReport(const std::string& id) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
    v1::GetReportRequest request;
    request.set_report_id(id);
    v1::Report report;
    grpc::Status status = desk_->GetReport(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return report;
  }

  v1::ClaimNextReportResponse Claim() {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::ClaimNextReportResponse response;
    grpc::Status status = desk_->ClaimNextReport(&context, v1::ClaimNextReportRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    EXPECT_TRUE(response.has_report());
    return response;
  }

  void Decide(const v1::ClaimNextReportResponse& claimed, v1::Outcome outcome) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_TRIAGER));
    v1::RecordDecisionRequest request;
    request.set_report_id(claimed.report().id());
    request.set_claim_id(claimed.claim().claim_id());
    request.set_outcome(outcome);
    request.set_note("decided in the metrics test");
    v1::Report report;
    grpc::Status status = desk_->RecordDecision(&context, request, &report);
    EXPECT_TRUE(status.ok()) << status.error_message();
  }

  // The queue and priority labels of the sample submission (as the policy places it).
  Labels PlaceOf(const std::string& report_id) {
    const v1::Report report = GetReport(report_id);
    return {{"queue", report.triage().queue()},
            {"priority", Label(v1::Priority_descriptor(), report.triage().priority())}};
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  common::FakeClock clock_{absl::FromUnixSeconds(1774256400)};
  std::unique_ptr<services::TriageServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
};

TEST_F(MetricsTest, RpcsAreCountedByMethodAndCodeAndTimed) {
  const Labels submit_ok = {{"method", "ReportIntake/SubmitReport"}, {"code", "OK"}};
  const Labels submit_invalid = {{"method", "ReportIntake/SubmitReport"},
                                 {"code", "INVALID_ARGUMENT"}};
  const Labels claim_denied = {{"method", "TriageDesk/ClaimNextReport"},
                               {"code", "PERMISSION_DENIED"}};
  // A method's series appear with its first call.
  EXPECT_FALSE(Get().Value("triage_rpcs_total", submit_ok).has_value());

  SubmitOk(1);
  SubmitOk(2);
  v1::SubmitReportRequest invalid = testing::ValidRequest("metrics-invalid");
  invalid.mutable_report()->clear_reporter();
  EXPECT_EQ(Submit(invalid, credentials_.token(v1::ROLE_INTAKE)).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  {
    grpc::ClientContext context;  // intake may not claim
    testing::Authorize(context, credentials_.token(v1::ROLE_INTAKE));
    v1::ClaimNextReportResponse response;
    EXPECT_EQ(
        desk_->ClaimNextReport(&context, v1::ClaimNextReportRequest(), &response).error_code(),
        grpc::StatusCode::PERMISSION_DENIED);
  }

  const Labels submit_method = {{"method", "ReportIntake/SubmitReport"}};
  Scrape after = GetWhen([&](const Scrape& s) {
    return s.Value("triage_rpcs_total", claim_denied) == 1.0 &&
           s.Value("triage_rpc_duration_seconds_count", submit_method) == 3.0;
  });
  EXPECT_EQ(after.type["triage_rpcs_total"], "counter");
  EXPECT_FALSE(after.help["triage_rpcs_total"].empty());
  EXPECT_EQ(after.type["triage_rpc_duration_seconds"], "histogram");
  EXPECT_EQ(after.Value("triage_rpcs_total", submit_ok), 2.0);
  EXPECT_EQ(after.Value("triage_rpcs_total", submit_invalid), 1.0);
  EXPECT_EQ(after.Value("triage_rpcs_total", claim_denied), 1.0);
  EXPECT_EQ(after.Value("triage_rpc_duration_seconds_count", submit_method), 3.0);
  Labels le_10 = submit_method;
  le_10["le"] = "10";
  EXPECT_EQ(after.Value("triage_rpc_duration_seconds_bucket", le_10), 3.0);
  EXPECT_GT(after.Value("triage_rpc_duration_seconds_sum", submit_method).value_or(0), 0.0);
  // Every RPC label names a method of the contract and a status code, nothing else.
  for (const Sample& s : after.All("triage_rpcs_total")) {
    EXPECT_THAT(s.labels, ::testing::SizeIs(2));
    EXPECT_TRUE(absl::StrContains(s.labels.at("method"), "/")) << s.labels.at("method");
  }
}

TEST_F(MetricsTest, AWatchQueuesStreamIsCountedWhenItEnds) {
  {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_SUPERVISOR));
    auto stream = desk_->WatchQueues(&context, v1::WatchQueuesRequest());
    v1::QueueSummary summary;
    ASSERT_TRUE(stream->Read(&summary));  // the snapshot
    context.TryCancel();
    while (stream->Read(&summary)) {
    }
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  const Labels cancelled = {{"method", "TriageDesk/WatchQueues"}, {"code", "CANCELLED"}};
  const Labels method = {{"method", "TriageDesk/WatchQueues"}};
  // The call's counter and its histogram are two updates; wait for both.
  Scrape scrape = GetWhen([&](const Scrape& s) {
    return s.Value("triage_rpcs_total", cancelled) == 1.0 &&
           s.Value("triage_rpc_duration_seconds_count", method) == 1.0;
  });
  EXPECT_EQ(scrape.Value("triage_rpcs_total", cancelled), 1.0);
  EXPECT_EQ(scrape.Value("triage_rpc_duration_seconds_count", method), 1.0);
}

TEST_F(MetricsTest, ReportsReceivedAreLeftOutFromOneToFourAndExactFromFive) {
  const std::string first = SubmitOk(0);
  const Labels place = PlaceOf(first);
  const Labels received = {{"reporter_type", "CHILD"}, {"priority", place.at("priority")}};
  for (int n = 1; n <= 6; ++n) {
    if (n > 1) SubmitOk(n - 1);
    Scrape scrape = Get();
    ASSERT_EQ(scrape.type[kReceived], "counter");  // the family is there, HELP and all
    EXPECT_FALSE(scrape.help[kReceived].empty());
    if (n < 5) {
      EXPECT_FALSE(scrape.Value(kReceived, received).has_value()) << n << " reports";
      EXPECT_FALSE(scrape.Value("triage_queue_depth", place).has_value()) << n << " reports";
    } else {
      EXPECT_EQ(scrape.Value(kReceived, received), n);
      EXPECT_EQ(scrape.Value("triage_queue_depth", place), n);
    }
    // No count of reports anywhere is 1..4; zeros are shown.
    for (const Sample& s : scrape.samples) {
      if (kReportCounts.contains(s.name)) {
        EXPECT_TRUE(s.value == 0 || s.value >= 5) << s.name << " = " << s.value;
      }
    }
    EXPECT_EQ(
        scrape.Value(kReceived, {{"reporter_type", "PARENT_CARER"}, {"priority", "IMMEDIATE"}}),
        0.0);
    EXPECT_EQ(scrape.Value("triage_metrics_minimum_count"), 5.0);
  }
  // A retry of an accepted request gets the first answer and is not counted again.
  clock_.Advance(absl::Seconds(1));
  SubmitOk(5);
  EXPECT_EQ(Get().Value(kReceived, received), 6.0);
}

TEST_F(MetricsTest, QueueGaugesFollowClaimsAndDecisionsByOutcome) {
  std::string id;
  for (int n = 0; n < 12; ++n) id = SubmitOk(n);
  const Labels place = PlaceOf(id);
  Scrape scrape = Get();
  EXPECT_EQ(scrape.type["triage_queue_depth"], "gauge");
  EXPECT_EQ(scrape.Value("triage_queue_depth", place), 12.0);
  EXPECT_EQ(scrape.Value("triage_queue_claimed", place), 0.0);
  EXPECT_EQ(scrape.Value("triage_queue_past_due", place), 0.0);
  EXPECT_EQ(scrape.Value("triage_queue_most_overdue_seconds", place), 0.0);
  EXPECT_EQ(scrape.Value("triage_claims_total"), 0.0);

  std::vector<v1::ClaimNextReportResponse> claims;
  for (int n = 0; n < 6; ++n) claims.push_back(Claim());
  scrape = Get();
  EXPECT_EQ(scrape.Value("triage_queue_depth", place), 6.0);
  EXPECT_EQ(scrape.Value("triage_queue_claimed", place), 6.0);
  EXPECT_EQ(scrape.Value("triage_claims_total"), 6.0);

  const Labels no_action = {{"outcome", "NO_FURTHER_ACTION"}};
  for (int n = 0; n < 4; ++n) Decide(claims[n], v1::OUTCOME_NO_FURTHER_ACTION);
  scrape = Get();
  EXPECT_FALSE(scrape.Value("triage_decisions_total", no_action).has_value());
  EXPECT_EQ(scrape.Value("triage_decisions_total", {{"outcome", "REFERRED_TO_POLICE"}}), 0.0);
  EXPECT_EQ(scrape.Value("triage_queue_claimed", place), std::nullopt);  // 2 left
  Decide(claims[4], v1::OUTCOME_NO_FURTHER_ACTION);
  scrape = Get();
  EXPECT_EQ(scrape.Value("triage_decisions_total", no_action), 5.0);
  EXPECT_EQ(scrape.Value("triage_queue_depth", place), 6.0);
  // Declared queues with nothing in them show zeros, per priority.
  size_t zero_depths = 0;
  for (const Sample& s : scrape.All("triage_queue_depth")) {
    if (s.value == 0) ++zero_depths;
    EXPECT_THAT(s.labels, ::testing::SizeIs(2));
  }
  EXPECT_GT(zero_depths, 0u);

  // A month on: every waiting report is past due, and the claim left has expired and
  // waits again.
  clock_.Advance(absl::Hours(24 * 30));
  scrape = GetWhen([&](const Scrape& s) { return s.Value("triage_queue_depth", place) == 7.0; });
  EXPECT_EQ(scrape.Value("triage_queue_depth", place), 7.0);
  EXPECT_EQ(scrape.Value("triage_queue_past_due", place), 7.0);
  EXPECT_EQ(scrape.Value("triage_queue_claimed", place), 0.0);
  EXPECT_GE(scrape.Value("triage_queue_oldest_wait_seconds", place).value_or(0), 30.0 * 24 * 3600);
  // Due at most 72 h after receipt (ROUTINE), so past due by at least 27 days.
  EXPECT_GE(scrape.Value("triage_queue_most_overdue_seconds", place).value_or(0), 27.0 * 24 * 3600);
}

// One late report is a breach to alert on: its count is left out (1 < k) but how late it
// is, a time, is not.
TEST_F(MetricsTest, OneReportPastDueShowsInHowOverdueWhileItsCountIsLeftOut) {
  const Labels place = PlaceOf(SubmitOk(0));
  EXPECT_EQ(Get().Value("triage_queue_most_overdue_seconds", place), 0.0) << "not yet due";
  clock_.Advance(absl::Hours(24 * 4));  // past every SLA of the shipped policy
  Scrape scrape = GetWhen([&](const Scrape& s) {
    return s.Value("triage_queue_most_overdue_seconds", place).value_or(0) > 0;
  });
  EXPECT_FALSE(scrape.Value("triage_queue_past_due", place).has_value());
  const double late = scrape.Value("triage_queue_most_overdue_seconds", place).value_or(0);
  EXPECT_GE(late, 24.0 * 3600);  // due within 72 h of receipt, 96 h ago
  EXPECT_LE(late, 4.0 * 24 * 3600);
}

TEST_F(MetricsTest, CommitHistogramsAndStoreGaugesHaveValues) {
  for (int n = 0; n < 3; ++n) SubmitOk(n);
  Scrape scrape = Get();
  EXPECT_EQ(scrape.type["triage_commit_batch_size"], "histogram");
  EXPECT_EQ(scrape.type["triage_commit_sync_duration_seconds"], "histogram");
  const double batches = scrape.Value("triage_commit_batch_size_count").value_or(0);
  EXPECT_GE(batches, 1.0);
  EXPECT_GE(scrape.Value("triage_commit_batch_size_sum").value_or(0), 3.0);  // 3 reports at least
  EXPECT_EQ(scrape.Value("triage_commit_sync_duration_seconds_count"), batches);
  EXPECT_GT(scrape.Value("triage_commit_sync_duration_seconds_sum").value_or(0), 0.0);
  EXPECT_EQ(scrape.Value("triage_store_writable"), 1.0);
  EXPECT_EQ(scrape.Value("triage_audit_trail_intact"), 1.0);
  EXPECT_EQ(scrape.Value("triage_metrics_minimum_count"), 5.0);
  EXPECT_EQ(scrape.type["triage_reports_purged_total"], "counter");
  EXPECT_EQ(scrape.Value("triage_reports_purged_total"), 0.0) << "no --retention here";
  EXPECT_EQ(scrape.Value("triage_retention_purge_failures_total"), 0.0);
}

// A trail found damaged at start shows as 0 (what the audit alert in deploy/ watches), and
// so does one a verification finds damaged while the server runs.
TEST_F(MetricsTest, ADamagedAuditTrailShowsAsNotIntact) {
  SubmitOk(0);
  auto admin = v1::Administration::NewStub(channel_);
  auto verify = [&](std::optional<v1::AuditAnchor> anchor) {
    grpc::ClientContext context;
    testing::Authorize(context, credentials_.token(v1::ROLE_ADMIN));
    v1::VerifyAuditLogRequest request;
    if (anchor) *request.add_anchors() = *anchor;
    v1::VerifyAuditLogResponse response;
    EXPECT_TRUE(admin->VerifyAuditLog(&context, request, &response).ok());
    return response.intact();
  };
  EXPECT_TRUE(verify(std::nullopt));
  EXPECT_EQ(Get().Value("triage_audit_trail_intact"), 1.0);
  v1::AuditAnchor off_chain;  // entry 1 exists, with another hash
  off_chain.set_sequence(1);
  off_chain.set_hash(std::string(32, '\x5a'));
  EXPECT_FALSE(verify(off_chain));
  EXPECT_EQ(Get().Value("triage_audit_trail_intact"), 0.0);
  EXPECT_TRUE(verify(std::nullopt));
  EXPECT_EQ(Get().Value("triage_audit_trail_intact"), 0.0) << "0 until a restart checks again";

  server_.reset();
  {
    testing::RawDb raw(dir_.Sub("db"));
    for (const auto& [key, value] : raw.Audit()) raw.Delete(storage::ColumnFamily::kAudit, key);
    raw.Delete(storage::ColumnFamily::kMeta, storage::kAuditHeadKey);
  }
  StartServer();
  EXPECT_EQ(Get().Value("triage_audit_trail_intact"), 0.0);
}

TEST_F(MetricsTest, TheScrapeCarriesNoReportContentIdsPrincipalsOrTokens) {
  v1::SubmitReportRequest request = testing::ValidRequest("request-id-zq81");
  request.mutable_report()->set_description("Zanzibar-unique-description-text-4471");
  request.mutable_report()->set_platform("QuokkaPlatform9");
  v1::SubmitReportResponse response;
  ASSERT_TRUE(Submit(request, credentials_.token(v1::ROLE_INTAKE), &response).ok());
  for (int n = 0; n < 6; ++n) SubmitOk(n);
  Claim();
  const std::string text = Get().text;
  ASSERT_THAT(text, HasSubstr("triage_reports_received_total"));
  for (const std::string& secret :
       {std::string("Zanzibar"), std::string("QuokkaPlatform9"), std::string("request-id-zq81"),
        std::string("metrics-1"), response.report_id(), std::string("Thames Valley")}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(secret)));
  }
  for (v1::Role role :
       {v1::ROLE_INTAKE, v1::ROLE_TRIAGER, v1::ROLE_SUPERVISOR, v1::ROLE_MONITOR, v1::ROLE_ADMIN}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(credentials_.token(role))));
    EXPECT_THAT(text, ::testing::Not(HasSubstr(testing::TestCredentials::PrincipalFor(role))));
  }
}

TEST_F(MetricsTest, OnlyMetricsIsServed) {
  EXPECT_EQ(HttpGet(server_->metrics_port(), "/").status, 404);
  EXPECT_EQ(HttpGet(server_->metrics_port(), "/etc/passwd").status, 404);
}

TEST_F(MetricsTest, AnEmptyMetricsListenServesNothing) {
  server_.reset();
  const std::set<std::string> before = ListeningSockets();
  services::ServerOptions options = Options();
  options.metrics_listen = "";
  auto server = services::TriageServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->metrics_port(), 0);
  const std::set<std::string> after = ListeningSockets();
  EXPECT_EQ(after.size(), before.size() + 1) << "only the gRPC port";
  server->reset();

  options.metrics_listen = "127.0.0.1:0";  // the same, with metrics: one more
  server = services::TriageServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(ListeningSockets().size(), before.size() + 2);
}

TEST_F(MetricsTest, ATakenPortFailsTheStartNamingTheFlag) {
  TakenPort taken;
  services::ServerOptions options = Options("other-db");
  options.metrics_listen = absl::StrCat("127.0.0.1:", taken.port());
  auto server = services::TriageServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(server.status().message(), HasSubstr("--metrics_listen"));
  EXPECT_THAT(server.status().message(), HasSubstr(options.metrics_listen));

  options.metrics_listen = "9464";  // a bare port would listen on every interface
  server = services::TriageServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("--metrics_listen"));
  // The server that did start is untouched.
  EXPECT_EQ(HttpGet(server_->metrics_port()).status, 200);
}

TEST(MetricsProcessTest, TheFlagServesMetricsFromTheBinary) {
  testing::TempDir dir;
  testing::TestCredentials credentials(dir.Sub("credentials"));
  const std::string db = dir.Sub("db");
  testing::ServerProcess server(
      {"--listen=127.0.0.1:0", "--data_dir=" + db, "--key_file=" + testing::TestKeyFile(db),
       "--audit_key_file=" + testing::TestAuditKeyFile(db),
       "--credentials_file=" + credentials.path(), "--insecure", "--metrics_listen=127.0.0.1:0"},
      dir.Sub("server.log"));
  ASSERT_TRUE(server.WaitUntilListening(absl::Seconds(30)).has_value()) << server.Log();
  std::string log = server.Log();
  for (absl::Time give_up = absl::Now() + absl::Seconds(10);
       !absl::StrContains(log, "metrics on") && absl::Now() < give_up; log = server.Log()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const size_t at = log.find("metrics on http://127.0.0.1:");
  ASSERT_NE(at, std::string::npos) << log;
  int port = 0;
  const size_t digits = at + std::string("metrics on http://127.0.0.1:").size();
  ASSERT_TRUE(absl::SimpleAtoi(log.substr(digits, log.find('/', digits) - digits), &port)) << log;
  const HttpResponse response = HttpGet(port);
  EXPECT_EQ(response.status, 200);
  EXPECT_THAT(response.body, HasSubstr("# TYPE triage_reports_received_total counter"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(absl::Seconds(30)), 0);
}

}  // namespace
}  // namespace safeguarding
