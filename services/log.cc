#include "services/log.h"

#include <cstdio>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace safeguarding::services {

void LogLine(Severity severity, absl::string_view message) {
  static absl::Mutex mu(absl::kConstInit);
  const char* level = severity == Severity::kInfo      ? "INFO"
                      : severity == Severity::kWarning ? "WARN"
                                                       : "ERROR";
  std::string line = absl::StrFormat(
      "%s %s %s\n", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      level, message);
  absl::MutexLock lock(&mu);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace safeguarding::services
