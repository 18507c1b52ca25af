#include "tools/triagectl/connection.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "services/net_address.h"

namespace safeguarding::tools {

std::string ReadFileOrStdin(const std::string& path) {
  std::stringstream buffer;
  if (path == "-") {
    buffer << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read " + path);
    buffer << in.rdbuf();
  }
  return buffer.str();
}

std::shared_ptr<grpc::Channel> OpenChannel(const ConnectionOptions& o) {
  for (char ch : o.token) {
    if (ch <= 0x20 || ch >= 0x7f) {
      throw UsageError("the token has characters a token cannot have (spaces, newlines?)");
    }
  }
  if (o.ca_file.empty() && o.cert_file.empty()) {
    if (!o.server_name.empty()) throw UsageError("--server-name is for TLS: give --ca");
    if (!services::IsLoopbackAddress(o.server)) {
      throw UsageError("plaintext is only for loopback servers; give --ca (TLS) for " + o.server);
    }
    return grpc::CreateChannel(o.server, grpc::InsecureChannelCredentials());
  }
  grpc::SslCredentialsOptions ssl;
  if (!o.ca_file.empty()) ssl.pem_root_certs = ReadFileOrStdin(o.ca_file);
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (o.cert_file.empty() || o.key_file.empty()) {
      throw UsageError("--cert and --key go together");
    }
    ssl.pem_cert_chain = ReadFileOrStdin(o.cert_file);
    ssl.pem_private_key = ReadFileOrStdin(o.key_file);
  }
  grpc::ChannelArguments args;
  if (!o.server_name.empty()) args.SetSslTargetNameOverride(o.server_name);
  return grpc::CreateCustomChannel(o.server, grpc::SslCredentials(ssl), args);
}

std::unique_ptr<grpc::ClientContext> NewCallContext(const ConnectionOptions& o) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(o.timeout_seconds * 1000)));
  if (!o.token.empty()) context->AddMetadata("authorization", "Bearer " + o.token);
  return context;
}

std::unique_ptr<grpc::ClientContext> NewStreamContext(const ConnectionOptions& o) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!o.token.empty()) context->AddMetadata("authorization", "Bearer " + o.token);
  return context;
}

}  // namespace safeguarding::tools
