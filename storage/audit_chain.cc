#include "storage/audit_chain.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "storage/digest.h"
#include "storage/key_encoding.h"

namespace safeguarding::storage {

std::string AuditHead::Encode() const {
  std::string out;
  PutFixed64BE(&out, sequence);
  PutFixed64BE(&out, OrderedFromMicros(time_micros));
  out.append(hash);
  return out;
}

std::optional<AuditHead> AuditHead::Decode(absl::string_view bytes) {
  AuditHead head;
  auto seq = GetFixed64BE(&bytes);
  auto time = GetFixed64BE(&bytes);
  if (!seq || !time || bytes.size() != kAuditHashBytes) return std::nullopt;
  head.sequence = *seq;
  head.time_micros = MicrosFromOrdered(*time);
  head.hash = std::string(bytes);
  return head;
}

std::string AuditEntryHash(const v1::AuditEntry& entry, absl::string_view key) {
  v1::AuditEntry copy = entry;
  copy.clear_hash();
  return HmacSha256(key, DeterministicEncoding(copy));
}

void AuditChainVerifier::Fail(uint64_t sequence, std::string why) {
  if (problem_) return;
  first_bad_ = sequence;
  problem_ = std::move(why);
}

void AuditChainVerifier::Add(const v1::AuditEntry& entry, int64_t key_time_micros,
                             uint64_t key_sequence) {
  ++checked_;
  const uint64_t expected = last_sequence_ + 1;
  if (entry.sequence() != key_sequence ||
      google::protobuf::util::TimeUtil::TimestampToMicroseconds(entry.time()) != key_time_micros) {
    Fail(key_sequence, "entry does not match its key (moved or edited)");
  } else if (entry.sequence() != expected) {
    Fail(expected, absl::StrCat("expected sequence ", expected, ", found ", entry.sequence(),
                                " (entries removed or reordered)"));
  } else if (entry.previous_hash() != last_hash_) {
    Fail(entry.sequence(), "previous_hash does not match the entry before (chain broken)");
  } else if (AuditEntryHash(entry, key_) != entry.hash()) {
    Fail(entry.sequence(), "hash does not match the entry's contents (entry edited)");
  }
  last_sequence_ = entry.sequence();
  last_hash_ = entry.hash();
}

void AuditChainVerifier::Finish(const AuditHead& head) {
  if (head.sequence > last_sequence_) {
    Fail(last_sequence_ + 1,
         absl::StrCat("trail ends at sequence ", last_sequence_, " but the head records ",
                      head.sequence, " (entries removed from the end)"));
  } else if (head.sequence < last_sequence_) {
    Fail(head.sequence + 1, absl::StrCat("entries after sequence ", head.sequence,
                                         " are not covered by the head (appended outside "
                                         "the server)"));
  } else if (head.hash != last_hash_) {
    Fail(last_sequence_, "the last entry does not match the head (entry edited)");
  }
}

}  // namespace safeguarding::storage
