#include "triage/rpcs.h"

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "safeguarding/triage/v1/administration.pb.h"
#include "safeguarding/triage/v1/intake.pb.h"
#include "safeguarding/triage/v1/statistics.pb.h"
#include "safeguarding/triage/v1/triage_desk.pb.h"

namespace safeguarding::triage {
namespace {

using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

struct Index {
  std::vector<const ServiceDescriptor*> services;
  std::vector<const Rpc*> rpcs;
  absl::flat_hash_map<std::string, const Rpc*> by_path;
};

const Index& TheIndex() {
  static const Index* index = [] {
    // One request type of each file of the contract that declares services: naming it
    // links the file's descriptor in. A test checks that this covers every service file
    // under proto/.
    const FileDescriptor* files[] = {
        v1::SubmitReportRequest::descriptor()->file(),
        v1::ListQueuesRequest::descriptor()->file(),
        v1::GetVolumesRequest::descriptor()->file(),
        v1::ImportReportsRequest::descriptor()->file(),
    };
    auto* built = new Index();
    for (const FileDescriptor* file : files) {
      for (int s = 0; s < file->service_count(); ++s) {
        const ServiceDescriptor* service = file->service(s);
        built->services.push_back(service);
        for (int m = 0; m < service->method_count(); ++m) {
          const Rpc* rpc = new Rpc(service->method(m));
          built->rpcs.push_back(rpc);
          built->by_path.emplace(rpc->path(), rpc);
        }
      }
    }
    return built;
  }();
  return *index;
}

}  // namespace

Rpc::Rpc(const MethodDescriptor* descriptor)
    : descriptor_(descriptor),
      path_(absl::StrCat("/", descriptor->service()->full_name(), "/", descriptor->name())) {
  const v1::MethodAccess& access = descriptor->options().GetExtension(v1::access);
  for (int role : access.roles()) {
    if (role != v1::ROLE_UNSPECIFIED && v1::Role_IsValid(role)) {
      roles_.push_back(static_cast<v1::Role>(role));
    }
  }
}

bool Rpc::Allows(v1::Role role) const {
  return role != v1::ROLE_UNSPECIFIED &&
         std::find(roles_.begin(), roles_.end(), role) != roles_.end();
}

const std::vector<const ServiceDescriptor*>& ContractServices() { return TheIndex().services; }

const std::vector<const Rpc*>& ContractRpcs() { return TheIndex().rpcs; }

const Rpc* FindRpc(absl::string_view path) {
  auto it = TheIndex().by_path.find(path);
  return it == TheIndex().by_path.end() ? nullptr : it->second;
}

const Rpc& RpcNamed(absl::string_view service, absl::string_view method, bool* known) {
  const std::string path = absl::StrCat("/", service, "/", method);
  const Rpc* rpc = FindRpc(path);
  if (known != nullptr) *known = rpc != nullptr;
  if (rpc != nullptr) return *rpc;
  static absl::Mutex mu(absl::kConstInit);
  static auto* unknown = new absl::flat_hash_map<std::string, std::unique_ptr<const Rpc>>();
  absl::MutexLock lock(&mu);
  std::unique_ptr<const Rpc>& slot = (*unknown)[path];
  if (slot == nullptr) slot = std::make_unique<const Rpc>(path);
  return *slot;
}

}  // namespace safeguarding::triage
