// RpcObserver: told how each call ended and how long it took (ServerMetrics counts them).
// RpcTimer times one call for it. Neither sees a request, a response or the caller.
#ifndef SAFEGUARDING_SERVICES_RPC_OBSERVER_H_
#define SAFEGUARDING_SERVICES_RPC_OBSERVER_H_

#include <grpcpp/grpcpp.h>

#include <chrono>

#include "absl/time/time.h"
#include "triage/rpcs.h"

namespace safeguarding::services {

class RpcObserver {
 public:
  virtual ~RpcObserver() = default;
  // `rpc` ended with `code` after `elapsed`. Called on gRPC's threads; thread-safe, quick.
  virtual void RpcDone(const triage::Rpc& rpc, grpc::StatusCode code,
                       absl::Duration elapsed) const = 0;
};

// One call of `rpc`, timed from construction (on a steady clock) to Done. With no observer
// it does nothing.
class RpcTimer {
 public:
  RpcTimer() = default;  // times nothing
  RpcTimer(const RpcObserver* observer, const triage::Rpc& rpc)
      : observer_(observer), rpc_(&rpc), started_(std::chrono::steady_clock::now()) {}

  void Done(grpc::StatusCode code) const {
    if (observer_ == nullptr) return;
    observer_->RpcDone(*rpc_, code, absl::FromChrono(std::chrono::steady_clock::now() - started_));
  }

 private:
  const RpcObserver* observer_ = nullptr;
  const triage::Rpc* rpc_ = nullptr;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_RPC_OBSERVER_H_
