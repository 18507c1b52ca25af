#include "services/audit_anchors.h"

#include "services/log.h"

namespace safeguarding::services {

AuditAnchorPublisher::AuditAnchorPublisher(std::function<storage::AuditAnchorPoint()> head,
                                           std::string anchor_file, absl::Duration interval)
    : head_(std::move(head)), anchor_file_(std::move(anchor_file)), interval_(interval) {}

AuditAnchorPublisher::~AuditAnchorPublisher() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void AuditAnchorPublisher::Start() {
  thread_ = std::thread([this] { Run(); });
}

void AuditAnchorPublisher::Publish(absl::string_view when) {
  absl::MutexLock lock(&mu_);
  PublishLocked(when);
}

void AuditAnchorPublisher::PublishLocked(absl::string_view when) {
  const storage::AuditAnchorPoint anchor = head_();
  Log(Severity::kInfo, "audit anchor %s (%s)", anchor.ToString(), when);
  published_sequence_ = anchor.sequence;
  published_once_ = true;
  if (anchor_file_.empty()) return;
  if (absl::Status written =
          WriteAnchorFile(anchor_file_, anchor, "last audit anchor published by triage-server");
      !written.ok()) {
    Log(Severity::kError, "%s", written.message());
  }
}

void AuditAnchorPublisher::Run() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
    if (stopping_) return;
    if (!published_once_ || head_().sequence != published_sequence_) PublishLocked("periodic");
  }
}

}  // namespace safeguarding::services
