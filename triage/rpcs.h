// The RPCs of the contract, as the generated descriptors declare them: one name per RPC.
// Handlers, the authorisation table, the audit trail and the logs all take an RPC's name
// from here, and who may call it from its `access` option (access.proto), so a renamed or
// added RPC cannot miss the role table.
#ifndef SAFEGUARDING_TRIAGE_RPCS_H_
#define SAFEGUARDING_TRIAGE_RPCS_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "safeguarding/triage/v1/access.pb.h"

namespace safeguarding::triage {

class Rpc {
 public:
  // An RPC of the contract, with the roles of its `access` option.
  explicit Rpc(const google::protobuf::MethodDescriptor* descriptor);
  // A path outside the contract: no descriptor, and no role may call it.
  explicit Rpc(std::string path) : descriptor_(nullptr), path_(std::move(path)) {}

  // "/safeguarding.triage.v1.TriageDesk/GetReport": how gRPC, the audit trail and the
  // logs name it.
  const std::string& path() const { return path_; }
  // nullptr for a path outside the contract.
  const google::protobuf::MethodDescriptor* descriptor() const { return descriptor_; }
  // The roles its `access` option names; none when the option is missing.
  const std::vector<v1::Role>& roles() const { return roles_; }
  bool Allows(v1::Role role) const;

 private:
  const google::protobuf::MethodDescriptor* descriptor_;
  std::string path_;
  std::vector<v1::Role> roles_;
};

// The services of the contract (safeguarding.triage.v1), in file order.
const std::vector<const google::protobuf::ServiceDescriptor*>& ContractServices();

// Every RPC of every service of the contract, in declaration order. Built once; the
// pointers live as long as the process.
const std::vector<const Rpc*>& ContractRpcs();

// The RPC with this exact path, or nullptr when the contract has none.
const Rpc* FindRpc(absl::string_view path);

// The RPC `method` of `service` ("safeguarding.triage.v1.TriageDesk"). When the contract
// has none (only a handler that overrides no generated method, or a service file missing
// from rpcs.cc, could ask), an Rpc that no role may call, made once per path: its calls
// are refused instead of the server stopping, and the access tests fail on it.
// `*known` (if given) says which it was.
const Rpc& RpcNamed(absl::string_view service, absl::string_view method, bool* known = nullptr);

}  // namespace safeguarding::triage

#endif  // SAFEGUARDING_TRIAGE_RPCS_H_
