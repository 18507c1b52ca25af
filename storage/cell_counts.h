// CellCounts: the counter additions of one change (a submitted, imported or decided
// report): per cell, the counter's key (storage/counter_keys.h), the cell's index in its
// value (storage/counter_cells.h) and what to add. The keys are packed one after another
// in one buffer, so the ~12 cells of a submit cost a couple of allocations rather than one
// per key; the committer reads them in place.
//
// Thread-compatible; a value type.
#ifndef SAFEGUARDING_STORAGE_CELL_COUNTS_H_
#define SAFEGUARDING_STORAGE_CELL_COUNTS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/internal/raw_logging.h"
#include "absl/strings/string_view.h"

namespace safeguarding::storage {

class CellCounts {
 public:
  struct Cell {
    absl::string_view key;  // valid while the CellCounts lives and is not changed
    uint16_t index;
    uint64_t delta;
  };

  // Room for `cells` more cells with keys of `key_bytes` in all, so adding them allocates
  // no more (growing at least twofold, so that many appends stay linear).
  void Reserve(size_t cells, size_t key_bytes) {
    Grow(entries_, entries_.size() + cells);
    Grow(keys_, keys_.size() + key_bytes);
  }
  void Add(absl::string_view key, uint16_t index, uint64_t delta) {
    keys_.append(key.data(), key.size());
    entries_.push_back({End(), index, delta});
  }
  // Adds a cell whose key `append_key(std::string*)` appends to the buffer it is given
  // (built in place, e.g. with AppendKeyOfParts).
  template <typename AppendKey>
  void AddBuilt(AppendKey&& append_key, uint16_t index, uint64_t delta) {
    append_key(&keys_);
    entries_.push_back({End(), index, delta});
  }
  void Append(const CellCounts& other) {
    ABSL_RAW_CHECK(&other != this, "CellCounts::Append of itself");  // it would never end
    Reserve(other.size(), other.keys_.size());
    for (size_t i = 0; i < other.size(); ++i) {
      const Cell c = other[i];
      Add(c.key, c.index, c.delta);
    }
  }

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  Cell operator[](size_t i) const {
    const size_t begin = i == 0 ? 0 : entries_[i - 1].end;
    return {absl::string_view(keys_).substr(begin, entries_[i].end - begin), entries_[i].index,
            entries_[i].delta};
  }

  // Iteration over the cells, in the order they were added.
  class Iterator {
   public:
    Iterator(const CellCounts* counts, size_t i) : counts_(counts), i_(i) {}
    Cell operator*() const { return (*counts_)[i_]; }
    Iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator!=(const Iterator& other) const { return i_ != other.i_; }

   private:
    const CellCounts* counts_;
    size_t i_;
  };
  Iterator begin() const { return Iterator(this, 0); }
  Iterator end() const { return Iterator(this, size()); }

 private:
  // Offsets are 32 bits: one change's keys are a few kilobytes (a message is at most a few
  // megabytes), far from 4 GiB; past it the offsets would wrap, so it stops the process instead.
  uint32_t End() const {
    ABSL_RAW_CHECK(keys_.size() <= UINT32_MAX, "CellCounts: over 4 GiB of keys");
    return static_cast<uint32_t>(keys_.size());
  }
  template <typename Container>
  static void Grow(Container& c, size_t size) {
    if (c.capacity() < size) c.reserve(std::max(size, 2 * c.capacity()));
  }

  struct Entry {
    uint32_t end;  // where the key ends in keys_; it starts where the previous one ended
    uint16_t index;
    uint64_t delta;
  };
  std::string keys_;
  std::vector<Entry> entries_;
};

}  // namespace safeguarding::storage

#endif  // SAFEGUARDING_STORAGE_CELL_COUNTS_H_
