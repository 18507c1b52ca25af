#include "storage/key_encoding.h"

#include <algorithm>

#include "absl/base/internal/raw_logging.h"

namespace safeguarding::storage {

void PutFixed32BE(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void PutFixed64BE(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

std::optional<uint32_t> GetFixed32BE(absl::string_view* in) {
  if (in->size() < 4) return std::nullopt;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(4);
  return v;
}

std::optional<uint64_t> GetFixed64BE(absl::string_view* in) {
  if (in->size() < 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  return v;
}

uint64_t OrderedFromMicros(int64_t micros) {
  return static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63);
}

int64_t MicrosFromOrdered(uint64_t ordered) {
  return static_cast<int64_t>(ordered ^ (uint64_t{1} << 63));
}

namespace {

void PutLengthPrefixed(std::string* out, absl::string_view s) {
  // Callers validate lengths at the edge; a longer component is a programming error.
  ABSL_RAW_CHECK(s.size() <= kMaxKeyComponentBytes, "key component longer than 255 bytes");
  out->push_back(static_cast<char>(s.size()));
  out->append(s.data(), s.size());
}

std::optional<ReportId> GetReportId(absl::string_view* in) {
  if (in->size() < ReportId::kBytes) return std::nullopt;
  auto id = ReportId::FromBytes(in->substr(0, ReportId::kBytes));
  in->remove_prefix(ReportId::kBytes);
  return id;
}

}  // namespace

std::string EventKey(const ReportId& id, uint64_t sequence) {
  std::string key(id.bytes());
  PutFixed64BE(&key, sequence);
  return key;
}

std::optional<EventKeyParts> ParseEventKey(absl::string_view key) {
  auto id = GetReportId(&key);
  if (!id) return std::nullopt;
  auto seq = GetFixed64BE(&key);
  if (!seq || !key.empty()) return std::nullopt;
  return EventKeyParts{*id, *seq};
}

std::string QueuePrefix(absl::string_view queue) {
  std::string key;
  PutLengthPrefixed(&key, queue);
  return key;
}

std::string QueueKey(absl::string_view queue, uint8_t tier, int64_t due_micros,
                     const ReportId& id) {
  std::string key = QueuePrefix(queue);
  key.push_back(static_cast<char>(tier));
  PutFixed64BE(&key, OrderedFromMicros(due_micros));
  key.append(id.bytes().data(), id.bytes().size());
  return key;
}

std::optional<QueueKeyParts> ParseQueueKey(absl::string_view key) {
  if (key.empty()) return std::nullopt;
  size_t len = static_cast<uint8_t>(key[0]);
  key.remove_prefix(1);
  if (key.size() < len + 1) return std::nullopt;
  QueueKeyParts parts;
  parts.queue = std::string(key.substr(0, len));
  key.remove_prefix(len);
  parts.tier = static_cast<uint8_t>(key[0]);
  key.remove_prefix(1);
  auto due = GetFixed64BE(&key);
  if (!due) return std::nullopt;
  parts.due_micros = MicrosFromOrdered(*due);
  auto id = GetReportId(&key);
  if (!id || !key.empty()) return std::nullopt;
  parts.id = *id;
  return parts;
}

std::string RequestKey(absl::string_view caller_scope, absl::string_view request_id) {
  std::string key;
  PutLengthPrefixed(&key, caller_scope);
  key.append(request_id.data(), request_id.size());
  return key;
}

std::string AuditKey(int64_t time_micros, uint64_t sequence) {
  std::string key;
  PutFixed64BE(&key, OrderedFromMicros(time_micros));
  PutFixed64BE(&key, sequence);
  return key;
}

std::string AuditByReportPrefix(absl::string_view report_id) {
  std::string key(1, static_cast<char>(std::min(report_id.size(), kMaxKeyComponentBytes)));
  const absl::string_view id = report_id.substr(0, kMaxKeyComponentBytes);
  key.append(id.data(), id.size());
  return key;
}

std::string AuditByReportKey(absl::string_view report_id, absl::string_view audit_key) {
  std::string key = AuditByReportPrefix(report_id);
  key.append(audit_key.data(), audit_key.size());
  return key;
}

std::optional<AuditKeyParts> ParseAuditKey(absl::string_view key) {
  auto time = GetFixed64BE(&key);
  auto seq = GetFixed64BE(&key);
  if (!time || !seq || !key.empty()) return std::nullopt;
  return AuditKeyParts{MicrosFromOrdered(*time), *seq};
}

}  // namespace safeguarding::storage
