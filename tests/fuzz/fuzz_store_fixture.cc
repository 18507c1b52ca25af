#include "tests/fuzz/fuzz_store_fixture.h"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"
#include "storage/key_ring.h"
#include "tests/fuzz/sample_submissions.h"

namespace safeguarding::fuzz {

void FuzzCheck(bool condition, const char* what) {
  if (condition) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

void QuietProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

FuzzStore& FuzzStore::Get() {
  static FuzzStore* const fixture = new FuzzStore();  // never destroyed: the process ends
  return *fixture;
}

triage::Caller FuzzStore::Supervisor(std::string method) {
  triage::Caller caller;
  caller.principal = "fuzz-supervisor";
  caller.role = triage::v1::ROLE_SUPERVISOR;
  caller.method = std::move(method);
  caller.peer = "unix:fuzz";
  return caller;
}

FuzzStore::FuzzStore() : clock_(FuzzNow()), policy_(triage::TriagePolicy::Shipped()) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/triage-fuzz-store.XXXXXX";
  FuzzCheck(mkdtemp(pattern.data()) != nullptr, "mkdtemp for the store");
  dir_ = pattern;
  storage::StoreOptions options;
  options.path = dir_ + "/db";
  options.key_file = dir_ + "/key";
  options.audit_key_file = dir_ + "/audit-key";
  options.memory.block_cache_bytes = size_t{16} << 20;
  options.memory.memtable_bytes = size_t{32} << 20;
  FuzzCheck(storage::CreateKeyFileIfMissing(options.key_file).ok(), "create the key file");
  FuzzCheck(storage::CreateKeyFileIfMissing(options.audit_key_file).ok(), "create the audit key");
  absl::StatusOr<std::unique_ptr<storage::ReportStore>> store = storage::ReportStore::Open(options);
  if (!store.ok()) std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
  FuzzCheck(store.ok(), "open the store");
  store_ = *std::move(store);
}

}  // namespace safeguarding::fuzz
