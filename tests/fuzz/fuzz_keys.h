// Fixed key material for the record decoders' fuzz target and its seeds: records sealed with
// it (tests/fuzz/corpus/key_decoding/) open in every run.
#ifndef SAFEGUARDING_TESTS_FUZZ_FUZZ_KEYS_H_
#define SAFEGUARDING_TESTS_FUZZ_FUZZ_KEYS_H_

#include "storage/key_ring.h"
#include "storage/report_id.h"

namespace safeguarding::fuzz {

// A ring of one fixed key (never a real one).
const storage::KeyRing& FuzzKeyRing();
// The report the fuzzed records belong to.
storage::ReportId FuzzRecordId();

}  // namespace safeguarding::fuzz

#endif  // SAFEGUARDING_TESTS_FUZZ_FUZZ_KEYS_H_
