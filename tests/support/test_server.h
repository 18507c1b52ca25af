// Options for an in-process TriageServer in tests: loopback port 0, plaintext, the given
// data directory and credentials, rate limiting off (tests that need it turn it on).
#ifndef SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_
#define SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_

#include <string>

#include "services/server.h"

namespace safeguarding::testing {

inline services::ServerOptions LoopbackTestOptions(const std::string& data_dir,
                                                   const std::string& credentials_file) {
  services::ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.data_dir = data_dir;
  options.credentials_file = credentials_file;
  options.insecure = true;
  options.rate_limit_per_second = 0;
  return options;
}

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_TEST_SERVER_H_
