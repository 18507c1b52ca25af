#include "services/net_address.h"

#include <algorithm>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace safeguarding::services {

bool IsLoopbackAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "localhost:") || absl::StartsWith(listen, "[::1]:")) return true;
  // 127.0.0.0/8 as an IPv4 literal only: "127.example.org" is a host name, not loopback.
  size_t colon = listen.rfind(':');
  if (colon == absl::string_view::npos) return false;
  absl::string_view host = listen.substr(0, colon);
  std::vector<absl::string_view> octets = absl::StrSplit(host, '.');
  if (octets.size() != 4 || octets[0] != "127") return false;
  for (absl::string_view octet : octets) {
    int value = 0;
    if (octet.empty() || octet.size() > 3 ||
        !std::all_of(octet.begin(), octet.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        !absl::SimpleAtoi(octet, &value) || value > 255) {
      return false;
    }
  }
  return true;
}

}  // namespace safeguarding::services
