#include "tests/fuzz/fuzz_keys.h"

#include <string>
#include <vector>

#include "tests/fuzz/fuzz_store_fixture.h"

namespace safeguarding::fuzz {

const storage::KeyRing& FuzzKeyRing() {
  static const storage::KeyRing* const ring = [] {
    absl::StatusOr<storage::KeyRing> keys = storage::KeyRing::FromKeys(
        std::vector<std::string>{std::string(storage::KeyRing::kKeyBytes, '\x5a')});
    FuzzCheck(keys.ok(), "the fixed fuzz key ring");
    return new storage::KeyRing(*std::move(keys));
  }();
  return *ring;
}

storage::ReportId FuzzRecordId() {
  static const std::optional<storage::ReportId> id =
      storage::ReportId::Parse("400SGF5J06Z81HD5PMB7TFMBJP");  // the id in README.md
  FuzzCheck(id.has_value(), "the fixed fuzz report id");
  return *id;
}

}  // namespace safeguarding::fuzz
