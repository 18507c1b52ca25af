#include "storage/counter_keys.h"

#include <cstring>

#include "storage/key_encoding.h"

namespace safeguarding::storage {
namespace {

constexpr uint32_t kDayBias = uint32_t{1} << 31;

}  // namespace

std::optional<std::string> CounterGroupPrefix(uint8_t series, const std::vector<GroupPart>& group) {
  if (group.size() > 255) return std::nullopt;
  std::string key;
  key.push_back(static_cast<char>(series));
  key.push_back(static_cast<char>(group.size()));
  for (const auto& [dimension, value] : group) {
    if (value.size() > 255) return std::nullopt;
    key.push_back(static_cast<char>(dimension));
    key.push_back(static_cast<char>(value.size()));
    key.append(value);
  }
  return key;
}

std::optional<std::string> CounterKey(uint8_t series, const std::vector<GroupPart>& group,
                                      int32_t day) {
  std::optional<std::string> key = CounterGroupPrefix(series, group);
  if (!key) return std::nullopt;
  PutFixed32BE(&*key, static_cast<uint32_t>(static_cast<int64_t>(day) + kDayBias));
  return key;
}

std::vector<std::pair<std::string, std::string>> SingleGroupRangesDroppedAtSchema3() {
  std::vector<std::pair<std::string, std::string>> ranges;
  for (int series = kFirstCountSeries; series <= kLastCountSeries; ++series) {
    // series | 1 part | dimension > kSingleGroupDimension ... up to series | 2 parts.
    ranges.emplace_back(
        std::string({static_cast<char>(series), 1, static_cast<char>(kSingleGroupDimension + 1)}),
        std::string({static_cast<char>(series), 2}));
  }
  return ranges;
}

bool AppendGroupPart(std::string* out, uint8_t dimension, absl::string_view value) {
  if (value.size() > 255) return false;
  out->push_back(static_cast<char>(dimension));
  out->push_back(static_cast<char>(value.size()));
  out->append(value.data(), value.size());
  return true;
}

std::optional<std::string> EncodeGroupPart(const GroupPart& part) {
  std::string out;
  out.reserve(2 + part.second.size());
  if (!AppendGroupPart(&out, part.first, part.second)) return std::nullopt;
  return out;
}

void AppendKeyOfParts(std::string* key, uint8_t series,
                      std::initializer_list<absl::string_view> parts, int32_t day) {
  // Written in place at its final size: the hot path of a submit (about 12 keys).
  size_t size = 2 + 4;
  for (absl::string_view p : parts) size += p.size();
  const size_t at = key->size();
  key->resize(at + size);
  char* out = key->data() + at;
  *out++ = static_cast<char>(series);
  *out++ = static_cast<char>(parts.size());
  for (absl::string_view p : parts) {
    if (!p.empty()) std::memcpy(out, p.data(), p.size());
    out += p.size();
  }
  const uint32_t biased = static_cast<uint32_t>(static_cast<int64_t>(day) + kDayBias);
  for (int shift = 24; shift >= 0; shift -= 8) *out++ = static_cast<char>(biased >> shift);
}

size_t CounterGroupEnd(absl::string_view key) {
  if (key.size() < 2) return 0;
  const size_t n = static_cast<uint8_t>(key[1]);
  size_t at = 2;
  for (size_t i = 0; i < n; ++i) {
    if (at + 2 > key.size()) return 0;
    at += 2 + static_cast<uint8_t>(key[at + 1]);
    if (at > key.size()) return 0;
  }
  return at;
}

int32_t CounterKeyDay(absl::string_view key) {
  absl::string_view last = key.substr(key.size() - 4);
  return static_cast<int32_t>(static_cast<int64_t>(*GetFixed32BE(&last)) - kDayBias);
}

std::optional<CounterKeyParts> ParseCounterKey(absl::string_view key) {
  if (key.size() < 2 + 4) return std::nullopt;
  CounterKeyParts parts;
  parts.series = static_cast<uint8_t>(key[0]);
  const size_t n = static_cast<uint8_t>(key[1]);
  key.remove_prefix(2);
  for (size_t i = 0; i < n; ++i) {
    if (key.size() < 2) return std::nullopt;
    const uint8_t dimension = static_cast<uint8_t>(key[0]);
    const size_t length = static_cast<uint8_t>(key[1]);
    key.remove_prefix(2);
    if (key.size() < length) return std::nullopt;
    parts.group.emplace_back(dimension, std::string(key.substr(0, length)));
    key.remove_prefix(length);
  }
  std::optional<uint32_t> day = GetFixed32BE(&key);
  if (!day || !key.empty()) return std::nullopt;
  parts.day = static_cast<int32_t>(static_cast<int64_t>(*day) - kDayBias);
  return parts;
}

}  // namespace safeguarding::storage
