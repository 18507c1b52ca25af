// Minimal operational logging: one timestamped line per event on stderr.
//
// Never pass report contents, contact details or credentials here; log ids, codes,
// methods and peers only.
#ifndef SAFEGUARDING_SERVICES_LOG_H_
#define SAFEGUARDING_SERVICES_LOG_H_

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace safeguarding::services {

enum class Severity { kInfo, kWarning, kError };

void LogLine(Severity severity, absl::string_view message);

template <typename... Args>
void Log(Severity severity, const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(severity, absl::StrFormat(format, args...));
}

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_LOG_H_
