#include "common/flags_usage.h"

#include <string>

#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"

namespace safeguarding::common {

void SetFlagsUsage(absl::string_view usage, absl::string_view main_file) {
  absl::SetProgramUsageMessage(usage);
  absl::FlagsUsageConfig config;
  const std::string main(main_file);
  config.contains_help_flags = [main](absl::string_view file) {
    return absl::EndsWith(file, main);
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  config.normalize_filename = [main](absl::string_view file) {
    return absl::EndsWith(file, main) ? main : std::string(file);
  };
  absl::SetFlagsUsageConfig(config);
}

}  // namespace safeguarding::common
