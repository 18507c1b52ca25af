// Options for stores and in-process servers in tests. Each data directory gets an
// encryption key file and an audit key file beside it (<data_dir>.key and
// <data_dir>.audit-key, created on first use, mode 0600).
#ifndef SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_
#define SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_

#include <memory>
#include <stdexcept>
#include <string>

#include "services/server.h"
#include "storage/key_ring.h"
#include "storage/report_store.h"

namespace safeguarding::testing {

inline std::string TestKeyFile(const std::string& data_dir) {
  std::string key_file = data_dir + ".key";
  absl::Status created = storage::CreateKeyFileIfMissing(key_file);
  if (!created.ok()) throw std::runtime_error(std::string(created.message()));
  return key_file;
}

// The audit key file beside a data directory: <data_dir>.audit-key, created on first use.
inline std::string TestAuditKeyFile(const std::string& data_dir) {
  std::string key_file = data_dir + ".audit-key";
  absl::Status created = storage::CreateKeyFileIfMissing(key_file);
  if (!created.ok()) throw std::runtime_error(std::string(created.message()));
  return key_file;
}

inline storage::StoreOptions TestStoreOptions(const std::string& data_dir,
                                              rocksdb::Env* env = nullptr) {
  storage::StoreOptions options;
  options.path = data_dir;
  options.key_file = TestKeyFile(data_dir);
  options.audit_key_file = TestAuditKeyFile(data_dir);
  options.env = env;
  return options;
}

// Opens the store, or throws naming why (a test fails on it).
inline std::unique_ptr<storage::ReportStore> OpenTestStore(const storage::StoreOptions& options) {
  absl::StatusOr<std::unique_ptr<storage::ReportStore>> store = storage::ReportStore::Open(options);
  if (!store.ok()) throw std::runtime_error(store.status().ToString());
  return *std::move(store);
}
inline std::unique_ptr<storage::ReportStore> OpenTestStore(const std::string& data_dir) {
  return OpenTestStore(TestStoreOptions(data_dir));
}

// Loopback port 0, plaintext, rate limiting off (tests that need it turn it on), metrics
// on a free loopback port (never the default one, which servers running at once share).
inline services::ServerOptions LoopbackTestOptions(const std::string& data_dir,
                                                   const std::string& credentials_file) {
  services::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.metrics_listen = "127.0.0.1:0";
  options.data_dir = data_dir;
  options.key_file = TestKeyFile(data_dir);
  options.audit_key_file = TestAuditKeyFile(data_dir);
  options.credentials_file = credentials_file;
  options.insecure = true;
  options.rate_limit_per_second = 0;
  return options;
}

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_
