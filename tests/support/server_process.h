// ServerProcess: the real triage-server binary as a child process, for tests of what only
// a process shows (exit codes, signals, SIGKILL, file locks).
#ifndef SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_
#define SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace safeguarding::testing {

class ServerProcess {
 public:
  // Starts TRIAGE_SERVER_BIN with `args` (and --metrics_listen=127.0.0.1:0 unless they
  // name --metrics_listen); stdout and stderr go to `log_path`.
  ServerProcess(const std::vector<std::string>& args, std::string log_path);
  // The same for another binary (e.g. a long-running triagectl command).
  ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                std::string log_path);
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
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string log_path_;
};

// The triage-server binary (TRIAGE_SERVER_BIN, else the one this build made).
std::string ServerBinary();
// The triagectl binary (TRIAGECTL_BIN, else the one this build made).
std::string TriagectlBinary();
// tests/fixtures of the source tree (TRIAGE_FIXTURES_DIR overrides).
std::string FixturesDir();
// The proto/ directory of the source tree (TRIAGE_PROTO_DIR overrides).
std::string ProtoDir();

// What a finished command printed (stdout and stderr together) and its exit code (128 +
// signal number if killed; -1 if it had to be killed after `timeout`).
struct CommandResult {
  int exit_code = -1;
  std::string output;
};

// Runs triagectl (TRIAGECTL_BIN, else the one this build made) with `args` and
// TRIAGECTL_TOKEN=`token` (unset if empty), as a user would from a shell, and waits for it.
CommandResult RunTriagectl(const std::vector<std::string>& args, const std::string& token,
                           absl::Duration timeout = absl::Seconds(30));

// The triage-loadgen binary (TRIAGE_LOADGEN_BIN, else the one this build made).
std::string LoadgenBinary();

// Runs `binary` with `args`, each of `env` set (or unset when its value is empty), and waits
// for it (killed after `timeout`).
CommandResult RunCommand(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         absl::Duration timeout = absl::Seconds(30));

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_SERVER_PROCESS_H_
