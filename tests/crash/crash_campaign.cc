// triage-crashtest: the crash campaign. Runs the real server as a child process under
// concurrent submits, claims and decisions from several clients, SIGKILLs it at a random
// moment, restarts it, and checks what the clients were told against what the store holds:
//
//   - every acknowledged submit is there, once, with its content;
//   - a submit whose answer was lost (unknown) is there at most once: retried with the same
//     request id after the restart, it resolves to one report, and the store holds exactly
//     one report per request id ever sent (the recount scans them all);
//   - every acknowledged decision closed its report with its outcome;
//   - the queues and claims agree with the reports' states, the counters with a recount,
//     and the audit trail verifies (and the server checked its anchor file at each start).
//
// Traffic goes to 127.0.0.1 only; the campaign is bounded in cycles and in time and stops
// by itself. With --expect_loss (the negative control: a server built to acknowledge
// before the write is durable) it succeeds only if it finds acknowledged writes lost, so
// the harness shows it can fail.
//
//   triage-crashtest --cycles 200 [--seed N] [--server_bin PATH] [--expect_loss]
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "tests/crash/history.h"
#include "tests/support/sample_reports.h"
#include "tests/support/server_process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_credentials.h"
#include "tests/support/test_server.h"

ABSL_FLAG(int, cycles, 10, "SIGKILL cycles to run");
ABSL_FLAG(uint32_t, seed, 0, "random seed (0: from the clock; printed)");
ABSL_FLAG(std::string, server_bin, "", "server binary (default: this build's triage-server)");
ABSL_FLAG(bool, expect_loss, false,
          "negative control: succeed only if acknowledged writes are found lost");
ABSL_FLAG(bool, anchor, true,
          "give the server an audit anchor file (the negative control runs without, so that "
          "the loss is found by the history rather than by the anchor check)");
ABSL_FLAG(int, full_check_every, 20, "recount, queues and audit checks every this many cycles");
ABSL_FLAG(absl::Duration, time_limit, absl::Minutes(30), "stop (failing) after this long");

namespace safeguarding::crash {
namespace {

namespace v1 = ::safeguarding::triage::v1;

constexpr int kSubmitters = 4;
constexpr int kDeciders = 2;
const absl::Duration kStartTimeout = absl::Seconds(60);

class Campaign final : public Server {
 public:
  explicit Campaign(uint32_t seed) : random_(seed) {}

  // Runs the cycles; returns the process exit code.
  int Run(int cycles) {
    // A copy of its own, so that a rebuild during the campaign cannot change or remove it.
    const std::string bin = absl::GetFlag(FLAGS_server_bin).empty()
                                ? testing::ServerBinary()
                                : absl::GetFlag(FLAGS_server_bin);
    std::error_code ec;
    std::filesystem::copy_file(bin, server_bin_, ec);
    if (ec) {
      history_.Problem(absl::StrCat("cannot copy ", bin, ": ", ec.message()));
      return Verdict();
    }
    const absl::Time deadline = absl::Now() + absl::GetFlag(FLAGS_time_limit);
    std::unique_ptr<testing::ServerProcess> server = Start(0);
    if (server == nullptr) return Verdict();
    for (int cycle = 1; cycle <= cycles; ++cycle) {
      if (absl::Now() > deadline) {
        history_.Problem(absl::StrCat("time limit reached after ", cycle - 1, " cycles"));
        break;
      }
      LoadAndKill(*server, cycle);
      server = Start(cycle);
      if (server == nullptr) break;
      Connect();
      history_.CheckCycle(cycle, *this);
      const bool last = cycle == cycles;
      if (last || cycle % absl::GetFlag(FLAGS_full_check_every) == 0) {
        history_.CheckWhole(*this);
      }
      if (cycle % 10 == 0 || last) std::printf("%s\n", history_.Summary(cycle).c_str());
      std::fflush(stdout);
      if (!history_.problems().empty() && !absl::GetFlag(FLAGS_expect_loss)) break;
      if (history_.lost() > 0 && absl::GetFlag(FLAGS_expect_loss)) break;
    }
    return Verdict();
  }

  // What the checks call the server with (history.h).
  v1::ReportIntake::Stub& intake() override { return *intake_; }
  v1::TriageDesk::Stub& desk() override { return *desk_; }
  v1::Administration::Stub& admin() override { return *admin_; }
  std::unique_ptr<grpc::ClientContext> As(v1::Role role) const override {
    auto context = std::make_unique<grpc::ClientContext>();
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    testing::Authorize(*context, credentials_.token(role));
    return context;
  }

 private:
  std::vector<std::string> ServerArgs() const {
    std::vector<std::string> args = {
        "--listen=127.0.0.1:0", "--data_dir=" + dir_.Sub("db"),
        "--key_file=" + testing::TestKeyFile(dir_.Sub("db")),
        "--audit_key_file=" + testing::TestAuditKeyFile(dir_.Sub("db")),
        "--credentials_file=" + credentials_.path(), "--insecure", "--rate_limit_per_second=0",
        // Several campaigns may run at once (ctest -j): no fixed metrics port.
        "--metrics_listen=",
        // Longer than the campaign: no claim expires while the queues are compared.
        "--claim_lease=1h"};
    if (absl::GetFlag(FLAGS_anchor)) args.push_back("--audit_anchor_file=" + dir_.Sub("anchor"));
    return args;
  }

  std::unique_ptr<testing::ServerProcess> Start(int cycle) {
    const std::string log = dir_.Sub(absl::StrCat("server-", cycle, ".log"));
    auto server = std::make_unique<testing::ServerProcess>(server_bin_, ServerArgs(), log);
    std::optional<std::string> address = server->WaitUntilListening(kStartTimeout);
    if (!address) {
      history_.Problem(absl::StrCat("the server did not start after cycle ", cycle, ": ",
                                    LastLines(server->Log())));
      return nullptr;
    }
    address_ = *address;
    Connect();
    return server;
  }

  void Connect() {
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    intake_ = v1::ReportIntake::NewStub(channel);
    desk_ = v1::TriageDesk::NewStub(channel);
    admin_ = v1::Administration::NewStub(channel);
  }

  // Clients run until the server is killed at a random moment, then see their calls fail.
  void LoadAndKill(testing::ServerProcess& server, int cycle) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < kSubmitters; ++c) {
      clients.emplace_back([this, c, cycle, &stop] { SubmitUntil(stop, cycle, c); });
    }
    for (int c = 0; c < kDeciders; ++c) {
      clients.emplace_back([this, &stop] { DecideUntil(stop); });
    }
    std::uniform_int_distribution<int> delay_ms(20, 300);
    absl::SleepFor(absl::Milliseconds(delay_ms(random_)));
    server.Signal(SIGKILL);
    if (server.WaitForExit(absl::Seconds(20)) != 128 + SIGKILL) {
      history_.Problem(absl::StrCat("cycle ", cycle, ": the server did not die of SIGKILL"));
    }
    stop = true;
    for (std::thread& t : clients) t.join();
  }

  void SubmitUntil(const std::atomic<bool>& stop, int cycle, int client) {
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    auto stub = v1::ReportIntake::NewStub(channel);
    for (int i = 0; !stop.load() && i < 5000; ++i) {
      const std::string request_id = absl::StrCat("crash-", cycle, "-", client, "-", i);
      v1::SubmitReportRequest request = testing::ValidRequest(request_id);
      request.mutable_report()->set_description(DescriptionFor(request_id));
      v1::SubmitReportResponse response;
      auto context = As(v1::ROLE_INTAKE);
      context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      grpc::Status status = stub->SubmitReport(context.get(), request, &response);
      history_.Submitted(request_id, status, response.report_id());
      if (!status.ok()) return;  // the server is gone (or going)
    }
  }

  void DecideUntil(const std::atomic<bool>& stop) {
    auto channel = grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    auto desk = v1::TriageDesk::NewStub(channel);
    const v1::Outcome outcomes[] = {v1::OUTCOME_NO_FURTHER_ACTION, v1::OUTCOME_REFERRED_TO_POLICE,
                                    v1::OUTCOME_ADVICE_GIVEN};
    for (int i = 0; !stop.load() && i < 5000; ++i) {
      v1::ClaimNextReportResponse claimed;
      grpc::Status status =
          desk->ClaimNextReport(As(v1::ROLE_TRIAGER).get(), v1::ClaimNextReportRequest(), &claimed);
      if (!status.ok()) return;
      if (!claimed.has_claim()) {
        absl::SleepFor(absl::Milliseconds(5));
        continue;
      }
      v1::RecordDecisionRequest request;
      request.set_report_id(claimed.claim().report_id());
      request.set_claim_id(claimed.claim().claim_id());
      request.set_outcome(outcomes[i % 3]);
      request.set_note("decided by the crash campaign");
      v1::Report report;
      status = desk->RecordDecision(As(v1::ROLE_TRIAGER).get(), request, &report);
      history_.Decided(request.report_id(), request.outcome(), status);
      if (!status.ok()) return;
    }
  }

  int Verdict() const {
    if (absl::GetFlag(FLAGS_expect_loss)) {
      if (history_.lost() > 0) {
        std::printf(
            "negative control: the harness found %llu acknowledged changes lost, as "
            "it must when writes are acknowledged before they are durable\n",
            static_cast<unsigned long long>(history_.lost()));
        return 0;
      }
      for (const std::string& problem : history_.problems()) {
        std::printf("PROBLEM: %s\n", problem.c_str());
      }
      std::printf("NEGATIVE CONTROL FAILED: nothing lost was found; the harness cannot tell\n");
      return 1;
    }
    for (const std::string& problem : history_.problems()) {
      std::printf("PROBLEM: %s\n", problem.c_str());
    }
    return history_.problems().empty() ? 0 : 1;
  }

  static std::string LastLines(const std::string& log) {
    return log.size() > 600 ? log.substr(log.size() - 600) : log;
  }

  testing::TempDir dir_;
  testing::TestCredentials credentials_{dir_.Sub("credentials")};
  const std::string server_bin_ = dir_.Sub("server-under-test");
  std::mt19937 random_;
  std::string address_;
  std::unique_ptr<v1::ReportIntake::Stub> intake_;
  std::unique_ptr<v1::TriageDesk::Stub> desk_;
  std::unique_ptr<v1::Administration::Stub> admin_;
  History history_;
};

}  // namespace
}  // namespace safeguarding::crash

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  uint32_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  const int cycles = absl::GetFlag(FLAGS_cycles);
  std::printf("crash campaign: %d cycles, seed %u%s\n", cycles, seed,
              absl::GetFlag(FLAGS_expect_loss) ? " (negative control)" : "");
  safeguarding::crash::Campaign campaign(seed);
  return campaign.Run(cycles);
}
