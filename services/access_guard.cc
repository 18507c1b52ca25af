#include "services/access_guard.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "services/log.h"
#include "triage/access_policy.h"
#include "triage/audit.h"

namespace safeguarding::services {
namespace {

// The bearer token of the call, if any ("authorization: Bearer <token>").
std::optional<std::string> BearerToken(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return std::nullopt;
  absl::string_view value(it->second.data(), it->second.size());
  constexpr absl::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size() ||
      !absl::EqualsIgnoreCase(value.substr(0, kScheme.size()), kScheme)) {
    return std::string();  // present but malformed: fails like a wrong token
  }
  return std::string(absl::StripAsciiWhitespace(value.substr(kScheme.size())));
}

// Typed identities of the verified client certificate: its subject ("subject:CN=...,O=...",
// RFC 2253) and subject alternative names ("dns:...", "uri:...", "email:..."). Typed, so a
// SAN can never be mistaken for a subject; no bare common name.
std::vector<std::string> CertificateIdentities(const grpc::CallbackServerContext& context) {
  std::vector<std::string> identities;
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr || !auth->IsPeerAuthenticated()) return identities;
  static constexpr std::pair<const char*, const char*> kFields[] = {
      {GRPC_X509_SUBJECT_PROPERTY_NAME, "subject:"},
      {GRPC_PEER_DNS_PROPERTY_NAME, "dns:"},
      {GRPC_PEER_URI_PROPERTY_NAME, "uri:"},
      {GRPC_PEER_EMAIL_PROPERTY_NAME, "email:"}};
  for (const auto& [property, prefix] : kFields) {
    for (const grpc::string_ref& value : auth->FindPropertyValues(property)) {
      identities.push_back(absl::StrCat(prefix, absl::string_view(value.data(), value.size())));
    }
  }
  return identities;
}

}  // namespace

std::string RefusalSource(absl::string_view peer) {
  absl::string_view host = peer;
  if (size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  const bool bracketed = absl::ConsumePrefix(&host, "ipv6:[") && absl::ConsumeSuffix(&host, "]");
  const bool encoded = !bracketed && absl::ConsumePrefix(&host, "ipv6:%5B") &&
                       absl::ConsumeSuffix(&host, "%5D");  // as later gRPCs spell it
  if (!bracketed && !encoded) return std::string(host);
  in6_addr address{};
  if (inet_pton(AF_INET6, std::string(host).c_str(), &address) != 1) return std::string(host);
  std::fill(address.s6_addr + 8, address.s6_addr + 16, 0);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &address, text, sizeof(text));
  return absl::StrCat("ipv6:[", text, "]/64");
}

void AccessGuard::SetCredentials(std::shared_ptr<const CredentialStore> credentials) {
  absl::MutexLock lock(&mu_);
  credentials_ = std::move(credentials);
}

std::shared_ptr<const CredentialStore> AccessGuard::credentials() const {
  absl::MutexLock lock(&mu_);
  return credentials_;
}

absl::Status AccessGuard::Admit(grpc::CallbackServerContext& context, const triage::Rpc& rpc,
                                triage::Caller& caller) const {
  const std::string& method = rpc.path();
  caller.method = method;
  caller.peer = context.peer();
  std::shared_ptr<const CredentialStore> creds = credentials();

  std::optional<Principal> principal;
  std::optional<std::string> token = BearerToken(context);
  if (token.has_value()) {
    principal = creds->FindByToken(*token);
  } else {
    principal = creds->FindByCertificate(CertificateIdentities(context));
  }
  if (!principal) {
    if (uint64_t held_back = 0; MayLogFailedAuthentication(held_back)) {
      Log(Severity::kWarning,
          "authentication failed: method=%s peer=%s credential=%s (%d such lines held back "
          "before this one)",
          method, caller.peer, token.has_value() ? "bearer token" : "none or unknown certificate",
          held_back);
    }
    return absl::UnauthenticatedError(
        "missing or invalid credentials: send 'authorization: Bearer <token>' or a client "
        "certificate known to the server");
  }
  caller.principal = principal->name;
  caller.role = principal->role;

  if (!rpc.Allows(caller.role)) {
    Log(Severity::kWarning, "permission denied: principal=%s role=%s method=%s peer=%s",
        caller.principal, triage::RoleName(caller.role), method, caller.peer);
    return absl::PermissionDeniedError(
        absl::StrCat("role ", triage::RoleName(caller.role), " may not call ", method));
  }
  if (limiter_ != nullptr) {
    absl::Duration wait = limiter_->Acquire(caller.principal);
    if (wait > absl::ZeroDuration()) {
      const int64_t seconds = std::max<int64_t>(1, std::ceil(absl::ToDoubleSeconds(wait)));
      context.AddTrailingMetadata("retry-after", absl::StrCat(seconds));
      return absl::ResourceExhaustedError(absl::StrCat("rate limit for ", caller.principal,
                                                       " exceeded; retry after ", seconds, " s"));
    }
  }
  return absl::OkStatus();
}

void AccessGuard::Check(grpc::CallbackServerContext& context, const triage::Rpc& rpc,
                        absl::string_view report_id,
                        absl::FunctionRef<void(triage::Caller)> admitted,
                        absl::AnyInvocable<void(absl::Status) &&> refused) const {
  triage::Caller caller;
  absl::Status status = Admit(context, rpc, caller);
  if (status.ok()) {
    admitted(std::move(caller));
  } else if (status.code() == absl::StatusCode::kResourceExhausted) {
    std::move(refused)(std::move(status));
  } else {
    RecordRefusal(caller, report_id, std::move(status), std::move(refused));
  }
}

void AccessGuard::RecordRefusal(const triage::Caller& caller, absl::string_view report_id,
                                absl::Status refusal,
                                absl::AnyInvocable<void(absl::Status) &&> finish) const {
  if (!caller.principal.empty()) {
    // Authenticated (refused for its role): always audited, never counted against the
    // limits below, so no flood of bad tokens can hide who was refused what.
    v1::AuditEntry entry =
        triage::AuditEntryFor(caller, triage::AuditReportId(report_id), refusal.code());
    audit_->Record(std::move(entry),
                   [refusal = std::move(refusal), finish = std::move(finish)](
                       const absl::Status&) mutable { std::move(finish)(std::move(refusal)); });
    return;
  }
  const std::string host = RefusalSource(caller.peer);
  if (refusal_audits_.Acquire(host) > absl::ZeroDuration() ||
      all_refusal_audits_.Acquire("*") > absl::ZeroDuration()) {
    // Counted in triage_refusals_unaudited_total; its "authentication failed" line (if not
    // held back) is the log's record.
    refusals_unaudited_.fetch_add(1, std::memory_order_relaxed);
    std::move(finish)(std::move(refusal));
    return;
  }
  // Refusals from many addresses at once: past kMaxRefusalAuditsWaiting, they are not kept
  // waiting for the disk (a flood of bad credentials holds no memory nor call budget).
  if (refusals_waiting_.fetch_add(1, std::memory_order_relaxed) >= kMaxRefusalAuditsWaiting) {
    refusals_waiting_.fetch_sub(1, std::memory_order_relaxed);
    refusals_unaudited_.fetch_add(1, std::memory_order_relaxed);
    std::move(finish)(std::move(refusal));
    return;
  }
  v1::AuditEntry entry =
      triage::AuditEntryFor(caller, triage::AuditReportId(report_id), refusal.code());
  audit_->Record(std::move(entry), [this, refusal = std::move(refusal),
                                    finish = std::move(finish)](const absl::Status&) mutable {
    refusals_waiting_.fetch_sub(1, std::memory_order_relaxed);
    std::move(finish)(std::move(refusal));
  });
}

bool AccessGuard::MayLogFailedAuthentication(uint64_t& held_back) const {
  if (failed_authentication_logs_.Acquire("*") > absl::ZeroDuration()) {
    logs_held_back_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  held_back = logs_held_back_.exchange(0, std::memory_order_relaxed);
  return true;
}

}  // namespace safeguarding::services
