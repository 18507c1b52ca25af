#include "tools/triagectl/import_command.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/json_util.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "tools/triagectl/render.h"

namespace safeguarding::tools {
namespace {

namespace v1 = ::safeguarding::triage::v1;

struct Tally {
  uint64_t imported = 0, already = 0, refused = 0, lines = 0;
  std::vector<std::string> refusals;  // the first few, for the summary
  void Refused(std::string why) {
    ++refused;
    if (refusals.size() < 10) refusals.push_back(std::move(why));
  }
};

struct Pending {
  v1::ImportReportsRequest request;
  std::vector<uint64_t> line_of;  // line number of each report
};

// Sends one batch, retrying while the server is unavailable (the call is idempotent).
grpc::Status Send(v1::Administration::Stub& stub, const ConnectionOptions& connection,
                  const Pending& batch, v1::ImportReportsResponse& response) {
  grpc::Status status;
  for (int attempt = 0; attempt < 5; ++attempt) {
    response.Clear();
    status = stub.ImportReports(NewCallContext(connection).get(), batch.request, &response);
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Seconds(1 << attempt));
  }
  return status;
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
                                 r.source_id(), "): ", r.error()));
    }
  }
}

void Progress(const Tally& t, uint64_t done_bytes, uint64_t total_bytes, absl::Time start) {
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  const double rate = seconds > 0 ? static_cast<double>(t.lines) / seconds : 0;
  const double share = total_bytes > 0 ? static_cast<double>(done_bytes) / total_bytes : 1;
  const double eta = share > 0 ? seconds * (1 - share) / share : 0;
  const int filled = static_cast<int>(share * 30);
  std::fprintf(stderr, "\r[%s%s] %3.0f%%  %llu reports  %.0f/s  ETA %.0fs   ",
               std::string(filled, '#').c_str(), std::string(30 - filled, '.').c_str(), 100 * share,
               static_cast<unsigned long long>(t.lines), rate, eta);
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
}

int ImportCommand::Run(const ConnectionOptions& connection, bool json) {
  std::ifstream in(file_, std::ios::binary | std::ios::ate);
  if (!in) throw UsageError(absl::StrCat("cannot read ", file_));
  const uint64_t total_bytes = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  auto stub = v1::Administration::NewStub(OpenChannel(connection));
  const bool tty = isatty(STDERR_FILENO) != 0;
  const absl::Time start = absl::Now();
  Tally tally;
  Pending batch;
  std::string line;
  uint64_t line_number = 0;
  auto flush = [&]() -> int {
    if (batch.request.reports().empty()) return 0;
    v1::ImportReportsResponse response;
    grpc::Status status = Send(*stub, connection, batch, response);
    if (!status.ok()) return ReportCallError(status);
    Count(batch, response, tally);
    batch = Pending();
    if (tty) Progress(tally, static_cast<uint64_t>(in.tellg()), total_bytes, start);
    return 0;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    ++tally.lines;
    v1::ImportedReport report;
    if (!google::protobuf::util::JsonStringToMessage(line, &report).ok()) {
      tally.Refused(absl::StrCat("line ", line_number, ": not a JSON ImportedReport"));
      continue;
    }
    *batch.request.add_reports() = std::move(report);
    batch.line_of.push_back(line_number);
    if (batch.request.reports_size() >= batch_) {
      if (int rc = flush(); rc != 0) return rc;
    }
  }
  if (int rc = flush(); rc != 0) return rc;
  if (tty) std::fprintf(stderr, "\n");
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (json) {
    std::cout << absl::StrFormat(
        "{\"imported\": %d, \"alreadyImported\": %d, \"refused\": %d, \"seconds\": %.3f}\n",
        tally.imported, tally.already, tally.refused, seconds);
  } else {
    std::cout << absl::StrFormat(
        "%d imported, %d already imported, %d refused, from %d lines in %.1f s (%.0f/s)\n",
        tally.imported, tally.already, tally.refused, tally.lines, seconds,
        seconds > 0 ? static_cast<double>(tally.lines) / seconds : 0.0);
    for (const std::string& r : tally.refusals) std::cout << "  refused: " << r << "\n";
    if (tally.refused > tally.refusals.size()) std::cout << "  ... and more\n";
  }
  return tally.refused > 0 ? 3 : 0;
}

}  // namespace safeguarding::tools
