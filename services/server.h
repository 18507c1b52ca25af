// TriageServer: wires storage, the domain and the gRPC services into one running server.
//
// Used by main() and by the integration tests (which listen on port 0 in a temp dir).
// Owns everything it starts. Shutdown order: stop accepting, let in-flight RPCs finish
// (their commits complete), then commit what is pending and close the database.
#ifndef SAFEGUARDING_SERVICES_SERVER_H_
#define SAFEGUARDING_SERVICES_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/intake_service.h"
#include "services/triage_desk_service.h"
#include "storage/report_store.h"
#include "triage/clock.h"
#include "triage/intake.h"
#include "triage/policy.h"

namespace safeguarding::services {

struct ServerOptions {
  // host:port; port 0 picks a free port (see TriageServer::port()).
  std::string listen = "127.0.0.1:50051";
  std::string data_dir = "./var/db";
  // Largest request accepted; the largest valid report is well under 64 KiB.
  int max_receive_message_bytes = 1 << 20;
  storage::CommitterOptions commit;
  // Source of time; nullptr means the real clock.
  const triage::Clock* clock = nullptr;
};

class TriageServer {
 public:
  // Opens the store and starts serving. FAILED_PRECONDITION naming the data directory
  // when it cannot be opened (locked, unreadable); UNAVAILABLE when the address cannot
  // be bound (in use, bad address).
  static absl::StatusOr<std::unique_ptr<TriageServer>> Start(const ServerOptions& options);

  // Shuts down with a short grace period if Shutdown() was not called.
  ~TriageServer();

  int port() const { return port_; }
  std::string address() const;

  // Stops accepting calls; in-flight calls get until `grace` to finish, then are
  // cancelled. Thread-safe; later calls do nothing.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();

 private:
  TriageServer() = default;

  ServerOptions options_;
  triage::RealClock real_clock_;
  std::unique_ptr<storage::ReportStore> store_;
  std::unique_ptr<triage::TriagePolicy> policy_;
  std::unique_ptr<triage::Intake> intake_;
  std::unique_ptr<IntakeService> intake_service_;
  std::unique_ptr<TriageDeskService> desk_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::once_flag shutdown_once_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_SERVER_H_
