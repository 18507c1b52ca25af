// AccessGuard: the one gate every protected RPC passes, before any work is done.
//
//  1. Authentication: a bearer token in the `authorization` metadata ("Bearer <token>"),
//     checked against the credentials file by its SHA-256; or, without a token, the client
//     certificate of a mutual-TLS connection mapped to a principal. Neither:
//     UNAUTHENTICATED.
//  2. Authorisation: the caller's role against the RPC's `access` option (triage/rpcs.h).
//     Not allowed: PERMISSION_DENIED.
//  3. Rate limit per principal: RESOURCE_EXHAUSTED with `retry-after` (seconds) metadata.
// Refusals are audited (who, what, peer, code) and logged without the token.
//
// Thread-safe; credentials can be swapped while serving (SIGHUP).
#ifndef SAFEGUARDING_SERVICES_ACCESS_GUARD_H_
#define SAFEGUARDING_SERVICES_ACCESS_GUARD_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "services/call_budget.h"
#include "services/credentials.h"
#include "services/rate_limiter.h"
#include "services/rpc_observer.h"
#include "storage/audit_trail.h"
#include "triage/caller.h"
#include "triage/rpcs.h"

namespace safeguarding::services {

// Where a failed authentication came from, as its audit allowance is kept: the client's
// address without the port ("ipv4:192.0.2.7"), and for IPv6 its /64
// ("ipv6:[2001:db8:1:2::]/64", one host's share of addresses), so that rotating through
// the addresses of one network buys no more audit entries.
std::string RefusalSource(absl::string_view peer);

class AccessGuard {
 public:
  // Refusals are recorded in `audit`.
  AccessGuard(const storage::AuditTrail* audit, std::shared_ptr<const CredentialStore> credentials,
              RateLimiter* limiter, const common::Clock* clock)
      : audit_(audit),
        limiter_(limiter),
        refusal_audits_(clock, kRefusalAuditsPerSecond, 20),
        all_refusal_audits_(clock, kAllRefusalAuditsPerSecond, 100),
        failed_authentication_logs_(clock, kFailedAuthenticationLogsPerSecond, 20),
        credentials_(std::move(credentials)) {}

  void SetCredentials(std::shared_ptr<const CredentialStore> credentials);

  // Where the handlers behind this gate report how each call ended (optional). Set before
  // serving, not while calls run.
  void SetRpcObserver(const RpcObserver* observer) { observer_ = observer; }
  const RpcObserver* rpc_observer() const { return observer_; }
  // The budgets admitted unary calls take a slot of (call_budget.h; optional, set before
  // serving).
  void SetCallBudgets(CallBudgets* budgets) { budgets_ = budgets; }
  CallBudgets* call_budgets() const { return budgets_; }

  // Fills `caller` with what is known (peer, method, and the principal and role once
  // authenticated) and returns OK when the call of `rpc` may proceed, else the refusal
  // (logged, not yet audited).
  [[nodiscard]] absl::Status Admit(grpc::CallbackServerContext& context, const triage::Rpc& rpc,
                                   triage::Caller& caller) const;

  // The whole gate, for every kind of handler: Admit; then either `admitted(caller)` (run
  // before Check returns) or, for a refusal, `refused(status)` once the refusal is on record
  // (rate-limit refusals are logged, not audited, so floods cannot fill the trail).
  // `report_id` names the report the call asked for, if any.
  void Check(grpc::CallbackServerContext& context, const triage::Rpc& rpc,
             absl::string_view report_id, absl::FunctionRef<void(triage::Caller)> admitted,
             absl::AnyInvocable<void(absl::Status) &&> refused) const;

  // Audits a refusal, then runs `finish` with it once it is on record. A refusal of an
  // authenticated principal (PERMISSION_DENIED) is always audited. Failed authentications
  // are audited at most `kRefusalAuditsPerSecond` per peer address (an IPv6 address's
  // /64; burst 20) and kAllRefusalAuditsPerSecond from all together (burst 100), and at
  // most kMaxRefusalAuditsWaiting wait for the trail at once, so a flood of bad credentials
  // cannot fill the trail or the disk; the rest are counted (refusals_unaudited()).
  void RecordRefusal(const triage::Caller& caller, absl::string_view report_id,
                     absl::Status refusal, absl::AnyInvocable<void(absl::Status) &&> finish) const;

  // Failed authentications answered without an audit entry, since the start.
  uint64_t refusals_unaudited() const {
    return refusals_unaudited_.load(std::memory_order_relaxed);
  }

  static constexpr double kRefusalAuditsPerSecond = 2;
  // Failed authentications audited per second from all addresses together (burst 100).
  static constexpr double kAllRefusalAuditsPerSecond = 20;
  // "authentication failed" log lines per second (burst 20); the next line written says
  // how many were held back.
  static constexpr double kFailedAuthenticationLogsPerSecond = 5;
  // Failed authentications (from all addresses together) waiting for their audit entry at
  // once; more are logged, not audited.
  static constexpr int kMaxRefusalAuditsWaiting = 64;

 private:
  std::shared_ptr<const CredentialStore> credentials() const;
  // False past kFailedAuthenticationLogsPerSecond (the line is held back and counted);
  // true with `held_back` set to the lines held back since the last one written.
  bool MayLogFailedAuthentication(uint64_t& held_back) const;

  const storage::AuditTrail* const audit_;
  RateLimiter* const limiter_;
  const RpcObserver* observer_ = nullptr;
  CallBudgets* budgets_ = nullptr;
  mutable RateLimiter refusal_audits_;      // keyed by peer address (IPv6: its /64)
  mutable RateLimiter all_refusal_audits_;  // one key: every address together
  mutable RateLimiter failed_authentication_logs_;
  mutable std::atomic<uint64_t> logs_held_back_{0};
  mutable std::atomic<int> refusals_waiting_{0};
  mutable std::atomic<uint64_t> refusals_unaudited_{0};
  mutable absl::Mutex mu_;
  std::shared_ptr<const CredentialStore> credentials_ ABSL_GUARDED_BY(mu_);
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_ACCESS_GUARD_H_
