#include "tests/support/server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"

namespace safeguarding::testing {

namespace {

// The environment variable if set (to test another build), else the path CMake compiled in.
std::string BinaryPath(const char* variable, const char* built) {
  const char* bin = std::getenv(variable);
  if (bin != nullptr && *bin != '\0') return bin;
  if (*built == '\0') throw std::runtime_error(std::string(variable) + " is not set");
  return built;
}

// `args`, with metrics on a free loopback port unless they name --metrics_listen: servers
// running at once must not all take the default port.
std::vector<std::string> WithFreeMetricsPort(std::vector<std::string> args) {
  for (const std::string& arg : args) {
    if (arg.rfind("--metrics_listen", 0) == 0) return args;
  }
  args.push_back("--metrics_listen=127.0.0.1:0");
  return args;
}

}  // namespace

std::string ServerBinary() { return BinaryPath("TRIAGE_SERVER_BIN", TRIAGE_SERVER_BIN_PATH); }

std::string FixturesDir() { return BinaryPath("TRIAGE_FIXTURES_DIR", TRIAGE_FIXTURES_DIR_PATH); }

std::string ProtoDir() { return BinaryPath("TRIAGE_PROTO_DIR", TRIAGE_PROTO_DIR_PATH); }

std::string TriagectlBinary() { return BinaryPath("TRIAGECTL_BIN", TRIAGECTL_BIN_PATH); }

ServerProcess::ServerProcess(const std::vector<std::string>& args, std::string log_path)
    : ServerProcess(ServerBinary(), WithFreeMetricsPort(args), std::move(log_path)) {}

ServerProcess::ServerProcess(const std::string& binary, const std::vector<std::string>& args,
                             std::string log_path)
    : log_path_(std::move(log_path)) {
  std::vector<std::string> argv_storage = {binary};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) throw std::runtime_error("cannot open " + log_path_);
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (pid_ < 0) throw std::runtime_error("fork failed");
}

ServerProcess::~ServerProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    WaitForExit(absl::Seconds(10));
  }
}

std::string ServerProcess::Log() const {
  std::ifstream in(log_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::string> ServerProcess::WaitUntilListening(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  static constexpr char kMarker[] = "listening on ";
  while (absl::Now() < deadline) {
    std::string log = Log();
    if (size_t at = log.find(kMarker); at != std::string::npos) {
      size_t start = at + sizeof(kMarker) - 1;
      size_t end = log.find(' ', start);
      return log.substr(start, end - start);
    }
    if (WaitForExit(absl::Milliseconds(20))) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<int> ServerProcess::WaitForExit(absl::Duration timeout) {
  if (exit_code_) return exit_code_;
  const absl::Time deadline = absl::Now() + timeout;
  do {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return exit_code_;
    }
    absl::SleepFor(absl::Milliseconds(5));
  } while (absl::Now() < deadline);
  return std::nullopt;
}

void ServerProcess::Signal(int signal) {
  if (!exit_code_) ::kill(pid_, signal);
}

CommandResult RunTriagectl(const std::vector<std::string>& args, const std::string& token,
                           absl::Duration timeout) {
  return RunCommand(BinaryPath("TRIAGECTL_BIN", TRIAGECTL_BIN_PATH), args,
                    {{"TRIAGECTL_TOKEN", token}}, timeout);
}

std::string LoadgenBinary() { return BinaryPath("TRIAGE_LOADGEN_BIN", TRIAGE_LOADGEN_BIN_PATH); }

CommandResult RunCommand(const std::string& bin, const std::vector<std::string>& args,
                         const std::vector<std::pair<std::string, std::string>>& env,
                         absl::Duration timeout) {
  char out_path[] = "/tmp/triage-command-out-XXXXXX";
  int out_fd = ::mkstemp(out_path);
  if (out_fd < 0) throw std::runtime_error("mkstemp failed");
  std::vector<std::string> argv_storage = {bin};
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    for (const auto& [name, value] : env) {
      if (value.empty()) {
        ::unsetenv(name.c_str());
      } else {
        ::setenv(name.c_str(), value.c_str(), 1);
      }
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_fd);
  if (pid < 0) throw std::runtime_error("fork failed");
  CommandResult result;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  std::ifstream in(out_path);
  std::stringstream text;
  text << in.rdbuf();
  result.output = text.str();
  ::unlink(out_path);
  return result;
}

}  // namespace safeguarding::testing
