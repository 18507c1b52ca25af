// Keys of the counters family: which series, which group, which UTC day.
//
//   series u8 | group size u8 | (dimension u8 | value length u8 | value bytes)... | day u32 BE
//
// The day is days since 1970-01-01 UTC plus 2^31 (so byte order is time order for any
// day), and the value under the key is an array of counts (storage/counter_cells.h), e.g.
// the 24 hours of that day. A group is zero or more (dimension, value) pairs in the order
// given; values are at most 255 bytes. Keys of one series and group are contiguous and in
// day order, so a range of days is one short scan.
//
// Groups of one part: since schema 3 the count series (kFirstCountSeries to
// kLastCountSeries) keep them only for dimension kSingleGroupDimension (the statistics
// layer's reporter type; its other single dimensions are sums of pairs with it). Opening a
// store of schema 2 deletes the others in those series (SingleGroupRangesDroppedAtSchema3).
//
// The statistics family hashes its memtable by group (CounterGroupEnd), so: a scan of one
// group seeks to CounterGroupPrefix (or a key of it) with ReadOptions::prefix_same_as_start;
// a scan across groups (a recount), SeekToFirst and SeekForPrev need
// ReadOptions::total_order_seek (without it they see only part of the family, or another
// group's keys).
#ifndef SAFEGUARDING_STORAGE_COUNTER_KEYS_H_
#define SAFEGUARDING_STORAGE_COUNTER_KEYS_H_

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace safeguarding::storage {

inline constexpr uint8_t kFirstCountSeries = 1;
inline constexpr uint8_t kLastCountSeries = 2;
inline constexpr uint8_t kSingleGroupDimension = 1;

// [begin, end) ranges of the keys deleted by the upgrade to schema 3: in each count series,
// every group of one part whose dimension is above kSingleGroupDimension.
std::vector<std::pair<std::string, std::string>> SingleGroupRangesDroppedAtSchema3();

// One (dimension, value) of a group; the numbers are the caller's (the statistics layer
// uses the contract's Dimension enum).
using GroupPart = std::pair<uint8_t, std::string>;

struct CounterKeyParts {
  uint8_t series = 0;
  std::vector<GroupPart> group;
  int32_t day = 0;  // days since 1970-01-01 UTC
};

// The key; nullopt if a value is longer than 255 bytes or the group has over 255 parts.
std::optional<std::string> CounterKey(uint8_t series, const std::vector<GroupPart>& group,
                                      int32_t day);
// Everything before the day: a scan of one series and group starts here.
std::optional<std::string> CounterGroupPrefix(uint8_t series, const std::vector<GroupPart>& group);
// The length of the group part (series, count, parts) at the start of `key`, or 0 if `key`
// does not start with a whole one. Used as the family's prefix extractor.
size_t CounterGroupEnd(absl::string_view key);
// The parts of a key; nullopt if it is not one.
std::optional<CounterKeyParts> ParseCounterKey(absl::string_view key);
// One (dimension, value) as a key holds it (dimension, length, bytes), appended to `out`;
// false, and nothing appended, if the value is longer than 255 bytes. With
// AppendKeyOfParts, the keys of many groups that share values are built from each value's
// bytes once (a submit's ~12 keys).
bool AppendGroupPart(std::string* out, uint8_t dimension, absl::string_view value);
// The same as a string; nullopt if the value is longer than 255 bytes.
std::optional<std::string> EncodeGroupPart(const GroupPart& part);
// The key of the group made of `parts` (each as AppendGroupPart writes it), in order,
// appended to `key`.
void AppendKeyOfParts(std::string* key, uint8_t series,
                      std::initializer_list<absl::string_view> parts, int32_t day);
// The day of a key known to be one (its last four bytes); for scans within one group.
int32_t CounterKeyDay(absl::string_view key);

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_COUNTER_KEYS_H_
