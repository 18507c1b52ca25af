// Writes the binary seeds of tests/fuzz/corpus/ (wire-format requests, encoded keys, sealed
// records, page tokens) from real encoders, so they stay what the code writes:
//   cmake --build build/fuzz --target make_seeds && build/fuzz/make_seeds tests/fuzz/corpus
// The text seeds (the shipped policy, JSON lines from `triagectl generate`) are copied by
// hand; see docs/BENCHMARKS.md "Fuzzing". Sealed records differ from run to run (a fresh
// nonce each), and every one of them opens.
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "google/protobuf/util/time_util.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "storage/counter_keys.h"
#include "storage/event_codec.h"
#include "storage/key_encoding.h"
#include "storage/report_codec.h"
#include "storage/report_records.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_store_fixture.h"
#include "tests/fuzz/sample_submissions.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::TimeUtil;

void Write(const std::string& dir, const std::string& name, const std::string& bytes) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out << bytes;
  FuzzCheck(static_cast<bool>(out), "write a seed");
}

void SubmitSeeds(const std::string& dir) {
  int n = 0;
  for (const v1::ReportSubmission& s : SampleSubmissions()) {
    v1::SubmitReportRequest request;
    request.set_request_id("3f2b8c1e-0d4a-4e59-9b7a-6c1d2e3f4a5b");
    *request.mutable_report() = s;
    Write(dir, "sample-" + std::to_string(++n) + ".binpb", request.SerializeAsString());
  }
}

v1::Report SampleReport() {
  const storage::ReportId id = FuzzRecordId();
  v1::Report report;
  report.set_id(id.ToString());
  *report.mutable_received_time() =
      TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(id.time()));
  *report.mutable_submission() = SampleSubmissions()[2];
  report.mutable_triage()->set_priority(v1::PRIORITY_URGENT);
  report.mutable_triage()->set_queue("professional");
  report.mutable_triage()->add_matched_rules("sexual-extortion");
  report.set_state(v1::REPORT_STATE_QUEUED);
  report.set_source(v1::REPORT_SOURCE_INTAKE);
  report.set_event_count(1);
  return report;
}

void KeySeeds(const std::string& dir) {
  const storage::ReportId id = FuzzRecordId();
  const int64_t due = absl::ToUnixMicros(FuzzNow() + absl::Hours(4));
  Write(dir, "event-key", storage::EventKey(id, 3));
  Write(dir, "queue-key", storage::QueueKey("professional", 2, due, id));
  Write(dir, "audit-key", storage::AuditKey(absl::ToUnixMicros(FuzzNow()), 42));
  Write(dir, "audit-keys-two", storage::AuditKey(-5, 7) + storage::AuditKey(1, 2));
  Write(dir, "counter-key",
        *storage::CounterKey(1, {{1, "REPORTER_TYPE_CHILD"}, {4, "Thames Valley"}}, 20429));
  Write(dir, "counter-key-negative-day", *storage::CounterKey(2, {}, -3));
  Write(dir, "report-id-text", id.ToString());
  Write(dir, "report-id-text-lower", "400sgf5j06z81hd5pmb7tfmbjp");
  Write(dir, "report-id-bytes", std::string(id.bytes()));
  const storage::KeyRing& ring = FuzzKeyRing();
  Write(dir, "sealed-report", *storage::SealReport(SampleReport(), id, ring));
  Write(dir, "sealed-workflow",
        *storage::SealWorkflow(storage::WorkflowOf(SampleReport()), id, ring));
  v1::ReportEvent event;
  event.set_report_id(id.ToString());
  event.set_sequence(2);
  event.set_type(v1::REPORT_EVENT_TYPE_NOTE_ADDED);
  event.set_actor("dev-triager");
  Write(dir, "plain-event", *storage::SealEvent(event, storage::EventKey(id, 2), ring));
  event.set_text("called the school");
  Write(dir, "sealed-event", *storage::SealEvent(event, storage::EventKey(id, 2), ring));
}

void PageTokenSeeds(const std::string& dir) {
  const storage::ReportId id = FuzzRecordId();
  Write(dir, "empty", "");
  Write(dir, "report-id-hex", absl::BytesToHexString(id.bytes()));
  Write(dir, "report-id-hex-upper", absl::AsciiStrToUpper(absl::BytesToHexString(id.bytes())));
  Write(dir, "audit-key-hex",
        absl::BytesToHexString(storage::AuditKey(absl::ToUnixMicros(FuzzNow()), 9)));
  Write(dir, "audit-key-hex-first", absl::BytesToHexString(storage::AuditKey(0, 1)));
  Write(dir, "one-short", absl::BytesToHexString(id.bytes()).substr(1));
}

}  // namespace
}  // namespace safeguarding::fuzz

int main(int argc, char** argv) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): main only
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_DIR (with submit_validation/, ...)\n");
    return 2;
  }
  const std::string root = argv[1];
  SubmitSeeds(root + "/submit_validation");
  KeySeeds(root + "/key_decoding");
  PageTokenSeeds(root + "/page_token");
  return 0;
}
