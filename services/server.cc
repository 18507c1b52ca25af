#include "services/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

#include "absl/strings/str_cat.h"

namespace safeguarding::services {

absl::StatusOr<std::unique_ptr<TriageServer>> TriageServer::Start(const ServerOptions& options) {
  std::unique_ptr<TriageServer> s(new TriageServer());
  s->options_ = options;
  const triage::Clock* clock = options.clock ? options.clock : &s->real_clock_;

  absl::StatusOr<std::unique_ptr<storage::ReportStore>> store =
      storage::ReportStore::Open({options.data_dir, options.commit});
  if (!store.ok()) return store.status();
  s->store_ = *std::move(store);
  s->policy_ = std::make_unique<triage::TriagePolicy>(triage::TriagePolicy::BuiltIn());
  s->intake_ = std::make_unique<triage::Intake>(s->store_.get(), s->policy_.get(), clock);
  s->intake_service_ = std::make_unique<IntakeService>(s->intake_.get());
  s->desk_service_ = std::make_unique<TriageDeskService>(s->store_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Without this, a second server on the same port would silently share its traffic.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &s->port_);
  builder.RegisterService(s->intake_service_.get());
  builder.RegisterService(s->desk_service_.get());
  s->server_ = builder.BuildAndStart();
  if (s->server_ == nullptr || s->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.listen, " (address in use or invalid)"));
  }
  s->server_->GetHealthCheckService()->SetServingStatus(true);
  return s;
}

TriageServer::~TriageServer() {
  if (server_ != nullptr) {
    Shutdown(absl::Seconds(5));
    server_->Wait();
    server_.reset();
  }
  store_.reset();  // commits what is pending, closes RocksDB, releases the lock
}

std::string TriageServer::address() const {
  std::string host = options_.listen.substr(0, options_.listen.rfind(':'));
  return absl::StrCat(host, ":", port_);
}

void TriageServer::Shutdown(absl::Duration grace) {
  std::call_once(shutdown_once_, [&] {
    server_->GetHealthCheckService()->SetServingStatus(false);
    server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  });
}

void TriageServer::Wait() { server_->Wait(); }

}  // namespace safeguarding::services
