#include "tools/triagectl/import_command.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "tools/triagectl/render.h"
#include "tools/triagectl/text.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;

struct Tally {
  uint64_t imported = 0, already = 0, refused = 0;
  std::vector<std::string> refusals;  // the first few, for the summary
  void Refused(std::string why) {
    ++refused;
    if (refusals.size() < 10) refusals.push_back(std::move(why));
  }
};

// A batch: its lines as read (parsed by the thread that sends it, so that parsing runs on
// as many threads as there are requests in flight), then the request built from them.
struct Pending {
  std::vector<std::string> lines;
  std::vector<uint64_t> line_number;  // of each of `lines`
  v1::ImportReportsRequest request;
  std::vector<uint64_t> line_of;  // line number of each report of `request`
  std::vector<std::string> unreadable;

  void Parse() {
    for (size_t i = 0; i < lines.size(); ++i) {
      v1::ImportedReport report;
      if (!google::protobuf::util::JsonStringToMessage(lines[i], &report).ok()) {
        unreadable.push_back(absl::StrCat("line ", line_number[i], ": not a JSON ImportedReport"));
        continue;
      }
      *request.add_reports() = std::move(report);
      line_of.push_back(line_number[i]);
    }
    lines.clear();
  }
};

// Whether the server shed the call (a full call budget, the write backlog, a principal's
// rate limit): worth sending again after a pause, unlike a request refused as such (e.g.
// one over the message size limit, which gRPC also answers RESOURCE_EXHAUSTED).
bool ServerBusy(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
         (absl::StartsWith(status.error_message(), "server busy: ") ||
          absl::StartsWith(status.error_message(), "rate limit for "));
}

// The server's `retry-after` (seconds) of a finished call; zero when it sent none.
absl::Duration RetryAfter(const grpc::ClientContext& context) {
  const auto& trailers = context.GetServerTrailingMetadata();
  auto found = trailers.find("retry-after");
  int seconds = 0;
  if (found == trailers.end() ||
      !absl::SimpleAtoi(absl::string_view(found->second.data(), found->second.size()), &seconds)) {
    return absl::ZeroDuration();
  }
  return absl::Seconds(std::clamp(seconds, 0, 60));
}

// Sends one batch (the call is idempotent: a report imported twice is ALREADY_IMPORTED).
// While the server is unavailable: up to 5 tries, 1 s apart and doubling. While it is busy:
// up to 8, from 200 ms doubling (its budgets free up within a call's time), spread at
// random so that the pipeline's threads do not come back at once, or after its
// retry-after.
grpc::Status SendBatch(v1::Administration::Stub& stub, const ConnectionOptions& connection,
                       const Pending& batch, v1::ImportReportsResponse& response) {
  absl::BitGen jitter;
  grpc::Status status;
  int unavailable = 0, busy = 0;
  for (;;) {
    response.Clear();
    std::unique_ptr<grpc::ClientContext> context = NewCallContext(connection);
    status = stub.ImportReports(context.get(), batch.request, &response);
    absl::Duration pause;
    if (status.error_code() == grpc::StatusCode::UNAVAILABLE && ++unavailable < 5) {
      pause = absl::Seconds(1 << (unavailable - 1));
    } else if (ServerBusy(status) && ++busy < 8) {
      pause = std::max(absl::Milliseconds(200 << (busy - 1)) * absl::Uniform(jitter, 0.5, 1.5),
                       RetryAfter(*context));
    } else {
      return status;
    }
    absl::SleepFor(pause);
  }
}

void Count(const Pending& batch, const v1::ImportReportsResponse& response, Tally& tally) {
  for (int i = 0; i < response.results_size(); ++i) {
    const v1::ImportResult& r = response.results(i);
    if (r.status() == v1::IMPORT_STATUS_IMPORTED) {
      ++tally.imported;
    } else if (r.status() == v1::IMPORT_STATUS_ALREADY_IMPORTED) {
      ++tally.already;
    } else {
      tally.Refused(absl::StrCat("line ", batch.line_of[static_cast<size_t>(i)], " (",
                                 CleanText(r.source_id()), "): ", CleanText(r.error())));
    }
  }
}

void Progress(uint64_t answered, uint64_t read, uint64_t done_bytes, uint64_t total_bytes,
              absl::Time start) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = seconds > 0 ? static_cast<double>(answered) / seconds : 0;
  const double share = total_bytes > 0 ? static_cast<double>(done_bytes) / total_bytes : 1;
  const double eta = share > 0 ? seconds * (1 - share) / share : 0;
  const int filled = static_cast<int>(share * 30);
  std::fprintf(stderr, "\r[%s%s] %3.0f%%  %llu reports  %.0f/s  ETA %.0fs   ",
               std::string(filled, '#').c_str(), std::string(30 - filled, '.').c_str(), 100 * share,
               static_cast<unsigned long long>(std::max(answered, read)), rate, eta);
}

// The line number a refusal starts with ("line 12 ..."), for sorting.
uint64_t LineOf(absl::string_view refusal) {
  uint64_t n = 0;
  absl::ConsumePrefix(&refusal, "line ");
  (void)absl::SimpleAtoi(refusal.substr(0, refusal.find_first_not_of("0123456789")), &n);
  return n;
}

}  // namespace

ImportCommand::ImportCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "import", "import historical reports from a JSON lines file (admin, supervisor)");
  command_->add_option("file", file_, "JSON lines of ImportedReport, e.g. from `generate`")
      ->required();
  command_->add_option("--batch", batch_, "reports per request")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  command_->add_option("--in-flight", in_flight_, "requests sent at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
}

namespace {

// Batches read from the file, sent by `workers` threads at once (each one synced write on
// the server, so several in flight keep it busy while each waits for its fsync); results
// are tallied as they come.
class Pipeline {
 public:
  Pipeline(v1::Administration::Stub& stub, const ConnectionOptions& connection, int workers)
      : stub_(stub), connection_(connection), capacity_(static_cast<size_t>(workers)) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~Pipeline() { Finish(); }

  // Queues a batch; waits while `workers` batches are already waiting. False once a call
  // has failed (then stop reading).
  bool Send(Pending batch) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &Pipeline::HasRoom));
    if (!failure_.ok()) return false;
    queue_.push_back(std::move(batch));
    return true;
  }

  // Waits for every batch; the first failure, if any.
  grpc::Status Finish() {
    {
      absl::MutexLock lock(&mu_);
      closed_ = true;
    }
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    absl::MutexLock lock(&mu_);
    return failure_;
  }

  // Under the lock: what the batches so far gave.
  template <typename F>
  void Read(F f) {
    absl::MutexLock lock(&mu_);
    f(static_cast<const Tally&>(tally_));
  }
  Tally& tally() { return tally_; }  // after Finish

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return queue_.size() < capacity_ || !failure_.ok();
  }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !queue_.empty() || closed_; }

  void Work() {
    for (;;) {
      Pending batch;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Pipeline::HasWork));
        if (queue_.empty()) return;  // closed and drained
        batch = std::move(queue_.front());
        queue_.pop_front();
      }
      batch.Parse();
      v1::ImportReportsResponse response;
      grpc::Status status = batch.request.reports().empty()
                                ? grpc::Status::OK
                                : SendBatch(stub_, connection_, batch, response);
      absl::MutexLock lock(&mu_);
      for (std::string& why : batch.unreadable) tally_.Refused(std::move(why));
      if (!status.ok()) {
        if (failure_.ok()) failure_ = status;
        queue_.clear();
        return;
      }
      Count(batch, response, tally_);
    }
  }

  v1::Administration::Stub& stub_;
  const ConnectionOptions& connection_;
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status failure_ ABSL_GUARDED_BY(mu_);
  Tally tally_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace

int ImportCommand::Run(const ConnectionOptions& connection, bool json) {
  std::ifstream in(file_, std::ios::binary | std::ios::ate);
  if (!in) throw UsageError(absl::StrCat("cannot read ", file_));
  const uint64_t total_bytes = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  const bool tty = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  uint64_t lines = 0;
  Pipeline pipeline(*stub, connection, in_flight_);
  Pending batch;
  std::string line;
  uint64_t line_number = 0;
  bool sending = true;
  auto flush = [&] {
    if (batch.lines.empty()) return;
    sending = pipeline.Send(std::move(batch));
    batch = Pending();
    if (tty) {
      pipeline.Read([&](const Tally& t) {
        Progress(t.imported + t.already + t.refused, lines, static_cast<uint64_t>(in.tellg()),
                 total_bytes, start);
      });
    }
  };
  while (sending && std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    ++lines;
    batch.lines.push_back(std::move(line));
    batch.line_number.push_back(line_number);
    if (batch.lines.size() >= static_cast<size_t>(batch_)) flush();
  }
  flush();
  grpc::Status failed = pipeline.Finish();
  if (tty) std::fprintf(stderr, "\n");
  if (!failed.ok()) return ReportCallError(failed);
  Tally& tally = pipeline.tally();
  std::sort(tally.refusals.begin(), tally.refusals.end(),
            [](const auto& a, const auto& b) { return LineOf(a) < LineOf(b); });
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (json) {
    std::cout << absl::StrFormat(
        "{\"imported\": %d, \"alreadyImported\": %d, \"refused\": %d, \"seconds\": %.3f}\n",
        tally.imported, tally.already, tally.refused, seconds);
  } else {
    std::cout << absl::StrFormat(
        "%d imported, %d already imported, %d refused, from %d lines in %.1f s (%.0f/s)\n",
        tally.imported, tally.already, tally.refused, lines, seconds,
        seconds > 0 ? static_cast<double>(lines) / seconds : 0.0);
    for (const std::string& r : tally.refusals) std::cout << "  refused: " << CleanText(r) << "\n";
    if (tally.refused > tally.refusals.size()) std::cout << "  ... and more\n";
  }
  return tally.refused > 0 ? 3 : 0;
}

}  // namespace safeguarding::tools
