// How triagectl reaches the server: address, transport security and the bearer token.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_CONNECTION_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace safeguarding::tools {

struct ConnectionOptions {
  std::string server = "127.0.0.1:50051";  // --server, env TRIAGECTL_SERVER
  std::string token;                       // --token, env TRIAGECTL_TOKEN
  std::string ca_file;                     // --ca: verify the server with this CA (TLS)
  std::string cert_file;                   // --cert/--key: client certificate (mutual TLS)
  std::string key_file;
  std::string server_name;  // --server-name: the name to verify the certificate for (TLS)
  double timeout_seconds = 10;
};

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// TLS when --ca or --cert is given; otherwise plaintext, which is allowed only to a
// loopback address. Throws UsageError for unreadable files or remote plaintext.
std::shared_ptr<grpc::Channel> OpenChannel(const ConnectionOptions& options);

// A context with the deadline and the `authorization: Bearer` metadata.
std::unique_ptr<grpc::ClientContext> NewCallContext(const ConnectionOptions& options);
// For a stream that lasts until it is cancelled: credentials, no deadline.
std::unique_ptr<grpc::ClientContext> NewStreamContext(const ConnectionOptions& options);

// Reads a whole file, or standard input for "-". Throws UsageError.
std::string ReadFileOrStdin(const std::string& path);

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_CONNECTION_H_
