// triagectl import FILE.jsonl [--batch N] [--in-flight N]: streams historical reports (one
// protobuf JSON ImportedReport per line, as `triagectl generate` writes them) to
// ImportReports in batches, several at once (default 4), with a progress line (count, rate, ETA) on
// a terminal, then the summary: imported, already imported, refused (the first refusals with their
// line and fields). Idempotent: running it again imports nothing twice. Exit 0 when nothing was
// refused, 3 when some lines were, 4 when the server stayed unavailable.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_IMPORT_COMMAND_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_IMPORT_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class ImportCommand {
 public:
  explicit ImportCommand(CLI::App& app);
  bool parsed() const { return command_->parsed(); }
  int Run(const ConnectionOptions& connection, bool json);

 private:
  CLI::App* command_ = nullptr;
  std::string file_;
  int batch_ = 1000;
  int in_flight_ = 4;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_IMPORT_COMMAND_H_
