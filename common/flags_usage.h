// --help of the programs that take Abseil flags (triage-server, triage-loadgen): the usage
// text, and the flags of the program's own main file only, named by its path in the source
// tree ("services/main.cc"), not by where the build happened to find it.
#ifndef SAFEGUARDING_COMMON_FLAGS_USAGE_H_
#define SAFEGUARDING_COMMON_FLAGS_USAGE_H_

#include "absl/strings/string_view.h"

namespace safeguarding::common {

// `main_file`: the path from the source root, e.g. "services/main.cc". Call before
// absl::ParseCommandLine.
void SetFlagsUsage(absl::string_view usage, absl::string_view main_file);

}  // namespace safeguarding::common

#endif  // SAFEGUARDING_COMMON_FLAGS_USAGE_H_
