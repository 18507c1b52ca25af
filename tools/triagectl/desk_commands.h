// triagectl's triage desk commands (triager, supervisor):
//   queues
//   claim [--queue Q] [--lease 15m]
//   renew ID --claim CLAIM_ID [--lease 15m]
//   release ID --claim CLAIM_ID --reason TEXT
//   decide ID --claim CLAIM_ID --outcome OUTCOME [--note TEXT] [--duplicate-of ID]
//   reprioritise ID --priority PRIORITY --reason TEXT
//   note ID --text TEXT | --text-file FILE
//   history ID
//   watch [--queue Q ...]   (a live queue table, redrawn in place; Ctrl-C ends it)
//   list [--queue Q] [--state S] [--priority P] [--reporter R] [--since T] [--until T]
//        [--limit N]
// Supervisors may leave out --claim to release or decide a report someone else holds.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_DESK_COMMANDS_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_DESK_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class DeskCommands {
 public:
  // Registers the subcommands on `app`.
  explicit DeskCommands(CLI::App& app);

  bool parsed() const;
  // Runs whichever was parsed; returns the exit code.
  int Run(const ConnectionOptions& connection, bool json);

 private:
  int RunQueues(const ConnectionOptions& connection, bool json);
  int RunClaim(const ConnectionOptions& connection, bool json);
  int RunRenew(const ConnectionOptions& connection, bool json);
  int RunRelease(const ConnectionOptions& connection, bool json);
  int RunDecide(const ConnectionOptions& connection, bool json);
  int RunReprioritise(const ConnectionOptions& connection, bool json);
  int RunNote(const ConnectionOptions& connection, bool json);
  int RunHistory(const ConnectionOptions& connection, bool json);
  int RunList(const ConnectionOptions& connection, bool json);
  int RunWatch(const ConnectionOptions& connection, bool json);

  CLI::App* queues_ = nullptr;
  CLI::App* claim_ = nullptr;
  CLI::App* renew_ = nullptr;
  CLI::App* release_ = nullptr;
  CLI::App* decide_ = nullptr;
  CLI::App* reprioritise_ = nullptr;
  CLI::App* note_ = nullptr;
  CLI::App* history_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* watch_ = nullptr;
  std::vector<std::string> watch_queues_;

  std::string report_id_, queue_, lease_, claim_id_, reason_, outcome_, note_text_, duplicate_of_,
      priority_, text_, text_file_, state_, reporter_, since_, until_;
  int limit_ = 50;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_DESK_COMMANDS_H_
