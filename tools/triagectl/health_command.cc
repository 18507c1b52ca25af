#include "tools/triagectl/health_command.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>
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
// HealthCheckResponse { ServingStatus status = 1; }, written and read with protobuf's wire
// format.
constexpr int kServiceField = 1;
constexpr int kStatusField = 1;

std::string EncodeRequest(const std::string& service) {
  std::string out;
  if (service.empty()) return out;  // proto3: the default is not written
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    google::protobuf::internal::WireFormatLite::WriteString(kServiceField, service, &coded);
  }  // the coded stream hands back what it did not write when it goes
  return out;
}

// The status field of a HealthCheckResponse (unknown fields skipped, the last status wins);
// nullopt if the bytes are not one.
std::optional<uint64_t> DecodeStatus(const std::string& bytes) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(bytes.data()),
                                               static_cast<int>(bytes.size()));
  uint64_t status = 0;  // UNKNOWN when absent
  for (uint32_t tag = coded.ReadTag(); tag != 0; tag = coded.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == kStatusField &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_VARINT) {
      if (!coded.ReadVarint64(&status)) return std::nullopt;
    } else if (!WireFormatLite::SkipField(&coded, tag)) {
      return std::nullopt;
    }
  }
  if (!coded.ConsumedEntireMessage()) return std::nullopt;
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
