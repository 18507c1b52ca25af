// triagectl's statistics commands (monitor, supervisor):
//   stats volumes  --from DATE --to DATE [--granularity day|week|month] [--by DIM]...
//                  [--filter DIM=VALUE[,VALUE]]... [--measure received|decided]
//                  [--time-zone ZONE] [--svg FILE]
//   stats compare  --baseline-from D --baseline-to D --comparison-from D --comparison-to D
//                  [--by DIM]... [--filter ...] [--alpha A] [--time-zone ZONE]
//   stats shifts   --from DATE --to DATE [--by DIM]... [--filter ...] [--alpha A]
//   stats queues   [--queue Q]... [--window 7d]
// Dates are YYYY-MM-DD (midnight in --time-zone, default Europe/London) or RFC 3339 times;
// "--to" is exclusive. Dimensions are spelled as flags: reporter-type, professional-role,
// priority, category, region, channel, child-age-band, queue, source, outcome.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_STATS_COMMANDS_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_STATS_COMMANDS_H_

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class StatsCommands {
 public:
  explicit StatsCommands(CLI::App& app);

  bool parsed() const { return stats_->parsed(); }
  // Runs whichever was parsed; returns the exit code.
  int Run(const ConnectionOptions& connection, bool json);

 private:
  int RunVolumes(const ConnectionOptions& connection, bool json);
  int RunCompare(const ConnectionOptions& connection, bool json);
  int RunShifts(const ConnectionOptions& connection, bool json);
  int RunQueues(const ConnectionOptions& connection, bool json);

  CLI::App* stats_ = nullptr;
  CLI::App* volumes_ = nullptr;
  CLI::App* compare_ = nullptr;
  CLI::App* shifts_ = nullptr;
  CLI::App* queues_ = nullptr;

  std::string from_, to_, granularity_ = "day", measure_ = "received";
  std::string baseline_from_, baseline_to_, comparison_from_, comparison_to_;
  std::string time_zone_ = "Europe/London", svg_, window_ = "7d";
  std::vector<std::string> by_, filters_, queues_list_;
  double alpha_ = 0.05;
  int width_ = 72, height_ = 8;
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_STATS_COMMANDS_H_
