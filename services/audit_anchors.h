// Audit anchors: the head of the audit chain (sequence and hash) published where whoever
// can write the data directory cannot reach, so that putting back an older copy of the data
// directory is detected (see storage/audit_chain.h for what the chain alone detects).
//
// The publisher logs "audit anchor SEQ:HASH" (log shipping keeps it) at start, at clean
// stop and, while entries are added, every `interval`; with an anchor file it also rewrites
// that file (atomically) with the last anchor, which the server checks at its next start.
// Only durable heads are published. Thread-safe.
#ifndef SAFEGUARDING_SERVICES_AUDIT_ANCHORS_H_
#define SAFEGUARDING_SERVICES_AUDIT_ANCHORS_H_

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/audit_anchor.h"
#include "storage/audit_chain.h"

namespace safeguarding::services {

using common::ReadAnchorFile;
using common::WriteAnchorFile;

class AuditAnchorPublisher {
 public:
  // `head` returns the durable head. `anchor_file` may be empty (log only).
  AuditAnchorPublisher(std::function<storage::AuditAnchorPoint()> head, std::string anchor_file,
                       absl::Duration interval);
  // Stops the periodic thread (without publishing: call Publish("at stop") first).
  ~AuditAnchorPublisher();
  AuditAnchorPublisher(const AuditAnchorPublisher&) = delete;
  AuditAnchorPublisher& operator=(const AuditAnchorPublisher&) = delete;

  // Publishes the head now (`when`: "at start", "at stop", ...), even if unchanged.
  void Publish(absl::string_view when);
  // Starts publishing every interval while the head moves.
  void Start();

 private:
  void Run();
  void PublishLocked(absl::string_view when) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::function<storage::AuditAnchorPoint()> head_;
  const std::string anchor_file_;
  const absl::Duration interval_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t published_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  bool published_once_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_AUDIT_ANCHORS_H_
