// `triagectl health`: asks the server's grpc.health.v1 service whether it is serving, for
// container and orchestrator health checks (deploy/). Prints SERVING or NOT_SERVING (or
// the status name the server gives); exits 0 only when serving, 4 when not serving or
// unreachable, as other calls do (render.h ExitCodeFor).
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_HEALTH_COMMAND_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_HEALTH_COMMAND_H_

#include <CLI/CLI.hpp>
#include <string>

#include "tools/triagectl/connection.h"

namespace safeguarding::tools {

class HealthCommand {
 public:
  explicit HealthCommand(CLI::App& app);
  bool parsed() const { return command_->parsed(); }
  int Run(const ConnectionOptions& connection) const;

 private:
  CLI::App* command_;
  std::string service_;  // "" is the whole server
};

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_HEALTH_COMMAND_H_
