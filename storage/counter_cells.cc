#include "storage/counter_cells.h"

#include <bit>
#include <cstring>

namespace safeguarding::storage {
namespace {

constexpr char kValueTag = 0x01;
constexpr char kOperandTag = 0x02;
constexpr size_t kDeltaBytes = 2 + 8;

// Counts are little-endian on disk: a copy on this machine, a swap on a big-endian one.
uint64_t LittleEndian(uint64_t v) {
  if constexpr (std::endian::native == std::endian::big) return __builtin_bswap64(v);
  return v;
}

void PutCount(std::string* out, uint64_t v) {
  v = LittleEndian(v);
  char bytes[8];
  std::memcpy(bytes, &v, 8);
  out->append(bytes, 8);
}

uint64_t GetCount(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return LittleEndian(v);
}

// Adds a value's counts into `cells`; false (nothing added) if it is not a value.
bool AddValue(absl::string_view value, std::vector<uint64_t>& cells) {
  if (value.empty() || value[0] != kValueTag || (value.size() - 1) % 8 != 0) return false;
  const size_t n = (value.size() - 1) / 8;
  if (n > kMaxCounterCells) return false;
  if (cells.size() < n) cells.resize(n, 0);
  for (size_t i = 0; i < n; ++i) cells[i] += GetCount(value.data() + 1 + 8 * i);
  return true;
}

// Adds an operand's deltas into `cells`; false (nothing added) if it is not an operand.
bool AddOperand(absl::string_view operand, std::vector<uint64_t>& cells) {
  if (operand.empty() || operand[0] != kOperandTag || (operand.size() - 1) % kDeltaBytes != 0) {
    return false;
  }
  for (size_t at = 1; at < operand.size(); at += kDeltaBytes) {
    const size_t index = (static_cast<unsigned char>(operand[at]) << 8) |
                         static_cast<unsigned char>(operand[at + 1]);
    if (index >= kMaxCounterCells) continue;
    if (cells.size() <= index) cells.resize(index + 1, 0);
    cells[index] += GetCount(operand.data() + at + 2);
  }
  return true;
}

absl::string_view View(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

class CounterMergeOperator : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "safeguarding.CounterCells.v1"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    std::vector<uint64_t> cells;
    // Either kind may be the base: an operand is the base when the key had no value.
    if (in.existing_value != nullptr && !AddValue(View(*in.existing_value), cells)) {
      AddOperand(View(*in.existing_value), cells);
    }
    for (const rocksdb::Slice& operand : in.operand_list) {
      if (!AddOperand(View(operand), cells)) AddValue(View(operand), cells);
    }
    out->new_value = EncodeCounterCells(cells);
    return true;  // malformed parts skipped: see the header
  }

  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger*) const override {
    std::vector<uint64_t> cells;
    for (const rocksdb::Slice& operand : operands) {
      if (!AddOperand(View(operand), cells)) return false;  // leave it to the full merge
    }
    std::vector<std::pair<uint16_t, uint64_t>> deltas;
    for (size_t i = 0; i < cells.size(); ++i) {
      if (cells[i] != 0) deltas.emplace_back(static_cast<uint16_t>(i), cells[i]);
    }
    *new_value = CounterOperand(deltas);
    return true;
  }
};

}  // namespace

std::shared_ptr<rocksdb::MergeOperator> NewCounterMergeOperator() {
  return std::make_shared<CounterMergeOperator>();
}

std::string CounterOperand(absl::Span<const std::pair<uint16_t, uint64_t>> deltas) {
  std::string out(1, kOperandTag);
  out.reserve(1 + deltas.size() * kDeltaBytes);
  for (const auto& [index, delta] : deltas) {
    if (index >= kMaxCounterCells) continue;
    out.push_back(static_cast<char>(index >> 8));
    out.push_back(static_cast<char>(index & 0xff));
    PutCount(&out, delta);
  }
  return out;
}

std::optional<std::vector<uint64_t>> DecodeCounterCells(absl::string_view value) {
  std::vector<uint64_t> cells;
  if (!AddValue(value, cells)) return std::nullopt;
  return cells;
}

bool DecodeCounterCellsInto(absl::string_view value, std::vector<uint64_t>& cells) {
  cells.clear();
  if (value.empty() || value[0] != kValueTag || (value.size() - 1) % 8 != 0 ||
      (value.size() - 1) / 8 > kMaxCounterCells) {
    return false;
  }
  const size_t n = (value.size() - 1) / 8;
  cells.resize(n);
  for (size_t i = 0; i < n; ++i) cells[i] = GetCount(value.data() + 1 + 8 * i);
  return true;
}

std::string EncodeCounterCells(const std::vector<uint64_t>& counts) {
  std::string out(1, kValueTag);
  out.reserve(1 + 8 * counts.size());
  for (uint64_t c : counts) PutCount(&out, c);
  return out;
}

}  // namespace safeguarding::storage
