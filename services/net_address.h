// Whether a host:port names this machine's loopback interface. Shared by the server (which
// serves plaintext only there) and triagectl (which sends tokens in plaintext only there).
#ifndef SAFEGUARDING_SERVICES_NET_ADDRESS_H_
#define SAFEGUARDING_SERVICES_NET_ADDRESS_H_

#include "absl/strings/string_view.h"

namespace safeguarding::services {

// True for an IPv4 literal in 127.0.0.0/8, "localhost" and "[::1]", each with a port
// ("127.0.0.1:50051", "[::1]:0"). Host names such as "127.example.org" are not loopback.
bool IsLoopbackAddress(absl::string_view host_port);

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_NET_ADDRESS_H_
