#include "tools/triagectl/health_command.h"

#include <grpcpp/generic/generic_stub.h>

#include <cstdint>
#include <cstdio>
#include <optional>

#include "absl/synchronization/notification.h"
#include "tools/triagectl/render.h"

namespace safeguarding::tools {
namespace {

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr int kExitUnavailable = 4;

// grpc.health.v1 is not among the project's protos (Debian ships no health.proto), and its
// two messages are one field each: HealthCheckRequest { string service = 1; } and
// HealthCheckResponse { ServingStatus status = 1; }, encoded here by hand.
std::string EncodeRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;
  out.push_back(0x0A);  // field 1, length-delimited
  for (size_t n = service.size();; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
  }
  return out + service;
}

// The status field of a HealthCheckResponse; nullopt if the bytes are not one.
std::optional<uint64_t> DecodeStatus(const std::string& bytes) {
  uint64_t status = 0;  // UNKNOWN when absent
  for (size_t i = 0; i < bytes.size();) {
    const uint8_t tag = static_cast<uint8_t>(bytes[i++]);
    if (tag != 0x08) return std::nullopt;  // only field 1, varint
    status = 0;
    for (int shift = 0;; shift += 7) {
      if (i >= bytes.size() || shift > 63) return std::nullopt;
      const uint8_t b = static_cast<uint8_t>(bytes[i++]);
      status |= uint64_t{b & 0x7Fu} << shift;
      if ((b & 0x80) == 0) break;
    }
  }
  return status;
}

const char* StatusName(uint64_t status) {
  switch (status) {
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

HealthCommand::HealthCommand(CLI::App& app) {
  command_ = app.add_subcommand(
      "health", "is the server serving? (grpc.health.v1; exit 0 only when SERVING)");
  command_->add_option("--service", service_, "a service name (default: the whole server)");
}

int HealthCommand::Run(const ConnectionOptions& connection) const {
  grpc::GenericStub stub(OpenChannel(connection));
  std::unique_ptr<grpc::ClientContext> context = NewCallContext(connection);
  const std::string encoded = EncodeRequest(service_);
  grpc::Slice slice(encoded);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(context.get(), kCheck, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return ReportCallError(status);
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  const std::optional<uint64_t> serving = DecodeStatus(bytes);
  if (!serving) {
    std::fprintf(stderr, "triagectl: the health answer is not a HealthCheckResponse\n");
    return 1;
  }
  std::printf("%s\n", StatusName(*serving));
  return *serving == 1 ? 0 : kExitUnavailable;
}

}  // namespace safeguarding::tools
