// ServerProcess: the real triage-server binary as a child process, for tests of what only
// a process shows (exit codes, signals, SIGKILL, file locks). The binary's path comes from
// the TRIAGE_SERVER_BIN environment variable, which ctest sets.
#ifndef SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_
#define SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace safeguarding::testing {

class ServerProcess {
 public:
  // Starts TRIAGE_SERVER_BIN with `args`; stdout and stderr go to `log_path`.
  ServerProcess(const std::vector<std::string>& args, std::string log_path);
  // Kills the process (SIGKILL) if it is still running.
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // The address from the server's "listening on ADDRESS" line, or nullopt if the process
  // exited or `timeout` passed first.
  std::optional<std::string> WaitUntilListening(absl::Duration timeout);
  // Exit code (128 + signal number when killed by a signal), or nullopt on timeout.
  std::optional<int> WaitForExit(absl::Duration timeout);
  void Signal(int signal);
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// TRIAGE_SERVER_BIN, failing the test if unset.
std::string ServerBinary();

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_
