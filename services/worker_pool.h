// WorkerPool: threads of their own for calls that take long (statistics queries, imports),
// so they never hold gRPC's few callback threads, and at a lower CPU priority (nice), so the
// kernel gives them only what the threads answering submits and the desk leave: a flood of
// dashboard queries or an import of a million records slows down itself, not intake.
//
// The call budgets (call_budget.h) bound how many calls can be waiting; the queue's own
// bound (`max_queued`) is a second line behind them. A task that reaches a worker after its caller
// has given up (the call was cancelled or its deadline passed) does not run: its `abandoned`
// callback runs instead.
//
// Thread-safe. The destructor runs what is queued (its callers are answered), then joins.
#ifndef SAFEGUARDING_SERVICES_WORKER_POOL_H_
#define SAFEGUARDING_SERVICES_WORKER_POOL_H_

#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/call_liveness.h"

namespace safeguarding::services {

class WorkerPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  // `threads` >= 1 workers named `name` (as `top -H` shows them), each at `nice` (0-19,
  // added to the process's own: lower priority only, so no privilege is needed); at most
  // `max_queued` tasks wait at once.
  WorkerPool(std::string name, int threads, int nice, size_t max_queued = 1024);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `task` on a worker, or `abandoned` if by then `liveness` says nobody waits
  // (nullptr: always `task`). OK once queued; else nothing is queued and neither runs:
  // RESOURCE_EXHAUSTED when `max_queued` tasks wait already, UNAVAILABLE once the pool is
  // being destroyed.
  [[nodiscard]] absl::Status Post(std::shared_ptr<const common::CallLiveness> liveness, Task task,
                                  Task abandoned);

  // Tasks queued and not yet started (for tests and metrics).
  size_t queued() const;

 private:
  struct Item {
    std::shared_ptr<const common::CallLiveness> liveness;
    Task task;
    Task abandoned;
  };
  void Work(int nice);

  const std::string name_;
  const size_t max_queued_;
  mutable absl::Mutex mu_;
  std::deque<Item> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace safeguarding::services

#endif  // SAFEGUARDING_SERVICES_WORKER_POOL_H_
