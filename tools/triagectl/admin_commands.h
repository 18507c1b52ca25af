// triagectl's audit and administration commands:
//   audit [--report ID] [--principal P] [--since TIME] [--until TIME] [--limit N]
//   admin add-token --credentials-file F --principal P --role ROLE   (local file; no RPC)
//   admin verify-audit [--anchor SEQ:HASH ...]
//   admin rotate-key
//   admin keys
//   admin recount [--max-differences N]
//   admin backup | backups | verify-backup | restore            (backup_commands.h)
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_ADMIN_COMMANDS_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_ADMIN_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tools/triagectl/backup_commands.h"
#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class AdminCommands {
 public:
  // Registers the subcommands on `app`.
  explicit AdminCommands(CLI::App& app);

  bool parsed() const;
  // Runs whichever was parsed; returns the exit code.
  int Run(const ConnectionOptions& connection, bool json);

 private:
  int RunAudit(const ConnectionOptions& connection, bool json);
  int RunAddToken();
  int RunVerifyAudit(const ConnectionOptions& connection, bool json);
  int RunRotateKey(const ConnectionOptions& connection, bool json);
  int RunKeys(const ConnectionOptions& connection, bool json);
  int RunRecount(const ConnectionOptions& connection, bool json);
  int RunPurge(const ConnectionOptions& connection, bool json);

  CLI::App* audit_ = nullptr;
  CLI::App* admin_ = nullptr;
  CLI::App* add_token_ = nullptr;
  CLI::App* verify_audit_ = nullptr;
  CLI::App* rotate_key_ = nullptr;
  CLI::App* keys_ = nullptr;
  CLI::App* recount_ = nullptr;
  CLI::App* purge_ = nullptr;
  std::unique_ptr<BackupCommands> backups_;

  std::string report_id_, principal_, since_, until_;
  int limit_ = 100;
  std::string credentials_file_ = "./var/credentials";
  std::string role_;
  std::vector<std::string> anchors_;
  int max_differences_ = 100;
  bool dry_run_ = false;
  std::string closed_before_;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_ADMIN_COMMANDS_H_
