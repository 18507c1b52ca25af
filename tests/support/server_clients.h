// ServerClients: an in-process server started for a test, with stubs of its services on
// one plaintext loopback channel.
#ifndef SAFEGUARDING_TESTS_SUPPORT_SERVER_CLIENTS_H_
#define SAFEGUARDING_TESTS_SUPPORT_SERVER_CLIENTS_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/status.h"
#include "safeguarding/triage/v1/administration.grpc.pb.h"
#include "safeguarding/triage/v1/intake.grpc.pb.h"
#include "safeguarding/triage/v1/statistics.grpc.pb.h"
#include "safeguarding/triage/v1/triage_desk.grpc.pb.h"
#include "services/server.h"

namespace safeguarding::testing {

struct ServerClients {
  std::unique_ptr<services::TriageServer> server;
  std::unique_ptr<triage::v1::ReportIntake::Stub> intake;
  std::unique_ptr<triage::v1::TriageDesk::Stub> desk;
  std::unique_ptr<triage::v1::Administration::Stub> admin;
  std::unique_ptr<triage::v1::Statistics::Stub> statistics;

  // Stops the server running (if any), starts one with `options` and connects to it.
  [[nodiscard]] absl::Status Start(const services::ServerOptions& options) {
    server.reset();
    absl::StatusOr<std::unique_ptr<services::TriageServer>> started =
        services::TriageServer::Start(options);
    if (!started.ok()) return started.status();
    server = *std::move(started);
    auto channel = grpc::CreateChannel(server->address(), grpc::InsecureChannelCredentials());
    intake = triage::v1::ReportIntake::NewStub(channel);
    desk = triage::v1::TriageDesk::NewStub(channel);
    admin = triage::v1::Administration::NewStub(channel);
    statistics = triage::v1::Statistics::NewStub(channel);
    return absl::OkStatus();
  }
};

}  // namespace safeguarding::testing

#endif  // SAFEGUARDING_TESTS_SUPPORT_SERVER_CLIENTS_H_
