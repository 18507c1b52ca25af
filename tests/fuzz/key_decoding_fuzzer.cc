// Fuzzes the decoders of what storage/ reads back from RocksDB: every key layout of
// storage/key_encoding.h (events, queue, audit), counter keys (storage/counter_keys.h),
// report ids as bytes and as text (storage/report_id.h), and the stored forms of reports,
// workflow records and events (storage/report_codec.h, storage/event_codec.h). Every decoder
// runs on every input (the same bytes may be a key of any family).
//
// Asserts: where a decoder accepts, encoding what it returned gives back the input exactly
// (a report id's text in upper case); counter keys agree with CounterGroupEnd,
// CounterGroupPrefix and CounterKeyDay, and CounterGroupEnd never points past the key; audit
// keys order as (time, sequence) do; the queue family's memtable insert hint
// (storage/engine.cc) is a slice of its key, and a queue key's queue and tier; ReportId::time() is
// the time in its first 8 bytes; the record decoders answer OK, DATA_LOSS or FAILED_PRECONDITION
// only, and what opens seals and opens again to the same message.
#include <algorithm>
#include <cstdint>
#include <string>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "google/protobuf/util/message_differencer.h"
#include "rocksdb/slice_transform.h"
#include "storage/counter_keys.h"
#include "storage/engine.h"
#include "storage/event_codec.h"
#include "storage/key_encoding.h"
#include "storage/key_ring.h"
#include "storage/report_codec.h"
#include "storage/report_id.h"
#include "tests/fuzz/fuzz_keys.h"
#include "tests/fuzz/fuzz_store_fixture.h"

namespace safeguarding::fuzz {
namespace {

using google::protobuf::util::MessageDifferencer;
using storage::ReportId;

void CheckEventKey(absl::string_view key) {
  std::optional<storage::EventKeyParts> parts = storage::ParseEventKey(key);
  if (!parts) return;
  FuzzCheck(storage::EventKey(parts->id, parts->sequence) == key, "event key round trip");
}

void CheckQueueKey(absl::string_view key) {
  std::optional<storage::QueueKeyParts> parts = storage::ParseQueueKey(key);
  if (!parts) return;
  FuzzCheck(storage::QueueKey(parts->queue, parts->tier, parts->due_micros, parts->id) == key,
            "queue key round trip");
  FuzzCheck(absl::StartsWith(key, storage::QueuePrefix(parts->queue)), "queue key prefix");
}

void CheckQueueHint(absl::string_view input) {
  static const std::shared_ptr<const rocksdb::SliceTransform> hint =
      storage::StoreFamilyOptions(storage::ColumnFamily::kQueue)
          .memtable_insert_with_hint_prefix_extractor;
  const rocksdb::Slice key(input.data(), input.size());
  const rocksdb::Slice prefix = hint->Transform(key);
  FuzzCheck(prefix.data() == key.data() && prefix.size() <= key.size(), "queue hint in its key");
  std::optional<storage::QueueKeyParts> parts = storage::ParseQueueKey(input);
  if (!parts) return;
  FuzzCheck(hint->InDomain(key) && prefix.ToString() == storage::QueuePrefix(parts->queue) +
                                                            static_cast<char>(parts->tier),
            "queue hint of a queue key");
}

void CheckAuditKeys(absl::string_view input) {
  std::optional<storage::AuditKeyParts> parts = storage::ParseAuditKey(input);
  if (parts) {
    FuzzCheck(storage::AuditKey(parts->time_micros, parts->sequence) == input,
              "audit key round trip");
  }
  // Two keys side by side: byte order is (time, sequence) order.
  if (input.size() < 32) return;
  std::optional<storage::AuditKeyParts> a = storage::ParseAuditKey(input.substr(0, 16));
  std::optional<storage::AuditKeyParts> b = storage::ParseAuditKey(input.substr(16, 16));
  FuzzCheck(a && b, "any 16 bytes are an audit key");
  const bool bytes_less = input.substr(0, 16) < input.substr(16, 16);
  FuzzCheck(
      bytes_less == (std::tie(a->time_micros, a->sequence) < std::tie(b->time_micros, b->sequence)),
      "audit key byte order is not (time, sequence) order");
}

void CheckCounterKey(absl::string_view key) {
  const size_t group_end = storage::CounterGroupEnd(key);
  FuzzCheck(group_end <= key.size(), "CounterGroupEnd past the key");
  std::optional<storage::CounterKeyParts> parts = storage::ParseCounterKey(key);
  if (!parts) return;
  std::optional<std::string> encoded = storage::CounterKey(parts->series, parts->group, parts->day);
  FuzzCheck(encoded.has_value() && *encoded == key, "counter key round trip");
  FuzzCheck(group_end == key.size() - 4, "CounterGroupEnd is not where the day starts");
  std::optional<std::string> prefix = storage::CounterGroupPrefix(parts->series, parts->group);
  FuzzCheck(prefix.has_value() && *prefix == key.substr(0, group_end), "counter group prefix");
  FuzzCheck(storage::CounterKeyDay(key) == parts->day, "CounterKeyDay");
  std::string rebuilt;
  std::vector<std::string> encoded_parts;
  for (const storage::GroupPart& part : parts->group) {
    std::optional<std::string> one = storage::EncodeGroupPart(part);
    FuzzCheck(one.has_value(), "a decoded group part does not encode");
    encoded_parts.push_back(*std::move(one));
  }
  if (encoded_parts.size() <= 3) {  // AppendKeyOfParts takes a braced list
    std::vector<absl::string_view> views(encoded_parts.begin(), encoded_parts.end());
    views.resize(3);
    switch (encoded_parts.size()) {
      case 0:
        storage::AppendKeyOfParts(&rebuilt, parts->series, {}, parts->day);
        break;
      case 1:
        storage::AppendKeyOfParts(&rebuilt, parts->series, {views[0]}, parts->day);
        break;
      case 2:
        storage::AppendKeyOfParts(&rebuilt, parts->series, {views[0], views[1]}, parts->day);
        break;
      default:
        storage::AppendKeyOfParts(&rebuilt, parts->series, {views[0], views[1], views[2]},
                                  parts->day);
    }
    FuzzCheck(rebuilt == key, "AppendKeyOfParts disagrees with CounterKey");
  }
}

void CheckReportIds(absl::string_view input) {
  if (std::optional<ReportId> id = ReportId::Parse(input)) {
    FuzzCheck(id->ToString() == absl::AsciiStrToUpper(input), "report id text round trip");
    FuzzCheck(ReportId::Parse(id->ToString()) == id, "report id reparse");
  }
  if (std::optional<ReportId> id = ReportId::FromBytes(input)) {
    FuzzCheck(id->bytes() == input, "report id bytes round trip");
    FuzzCheck(ReportId::Parse(id->ToString()) == id, "report id bytes to text and back");
    absl::string_view time_bytes = input.substr(0, 8);
    const std::optional<uint64_t> ordered = storage::GetFixed64BE(&time_bytes);
    FuzzCheck(id->time() == absl::FromUnixMicros(storage::MicrosFromOrdered(*ordered)),
              "report id time");
  }
}

bool ExpectedRecordError(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss ||
         status.code() == absl::StatusCode::kFailedPrecondition;
}

void CheckRecords(absl::string_view value) {
  const storage::KeyRing& ring = FuzzKeyRing();
  const ReportId id = FuzzRecordId();
  absl::StatusOr<v1::Report> report = storage::OpenReport(value, id, ring);
  FuzzCheck(report.ok() || ExpectedRecordError(report.status()), "OpenReport's error");
  if (report.ok()) {
    absl::StatusOr<std::string> sealed = storage::SealReport(*report, id, ring);
    FuzzCheck(sealed.ok(), "an opened report does not seal");
    absl::StatusOr<v1::Report> reopened = storage::OpenReport(*sealed, id, ring);
    FuzzCheck(reopened.ok() && MessageDifferencer::Equals(*report, *reopened),
              "report seal/open round trip");
    FuzzCheck(storage::SealedReportKeyId(*sealed) == ring.current_key_id(), "report key id");
  }
  absl::StatusOr<v1::Report> workflow = storage::OpenWorkflow(value, id, ring);
  FuzzCheck(workflow.ok() || ExpectedRecordError(workflow.status()), "OpenWorkflow's error");
  if (workflow.ok()) {
    absl::StatusOr<std::string> sealed = storage::SealWorkflow(*workflow, id, ring);
    FuzzCheck(sealed.ok(), "an opened workflow record does not seal");
    absl::StatusOr<v1::Report> reopened = storage::OpenWorkflow(*sealed, id, ring);
    FuzzCheck(reopened.ok() && MessageDifferencer::Equals(*workflow, *reopened),
              "workflow seal/open round trip");
  }
  const std::string event_key = storage::EventKey(id, 2);
  absl::StatusOr<v1::ReportEvent> event = storage::OpenEvent(value, event_key, ring);
  FuzzCheck(event.ok() || ExpectedRecordError(event.status()), "OpenEvent's error");
  if (event.ok()) {
    absl::StatusOr<std::string> sealed = storage::SealEvent(*event, event_key, ring);
    FuzzCheck(sealed.ok(), "an opened event does not seal");
    absl::StatusOr<v1::ReportEvent> reopened = storage::OpenEvent(*sealed, event_key, ring);
    FuzzCheck(reopened.ok() && MessageDifferencer::Equals(*event, *reopened),
              "event seal/open round trip");
  }
}

}  // namespace
}  // namespace safeguarding::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  safeguarding::fuzz::QuietProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace safeguarding::fuzz;  // NOLINT(build/namespaces): the entry point only
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  CheckEventKey(input);
  CheckQueueKey(input);
  CheckQueueHint(input);
  CheckAuditKeys(input);
  CheckCounterKey(input);
  CheckReportIds(input);
  CheckRecords(input);
  return 0;
}
