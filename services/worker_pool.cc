#include "services/worker_pool.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/log.h"

namespace safeguarding::services {

WorkerPool::WorkerPool(std::string name, int threads, int nice, size_t max_queued)
    : name_(std::move(name)), max_queued_(std::max<size_t>(1, max_queued)) {
  nice = std::clamp(nice, 0, 19);
  for (int i = 0; i < std::max(1, threads); ++i) {
    threads_.emplace_back([this, nice] { Work(nice); });
  }
}

WorkerPool::~WorkerPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
}

absl::Status WorkerPool::Post(std::shared_ptr<const common::CallLiveness> liveness, Task task,
                              Task abandoned) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("the server is shutting down");
  if (queue_.size() >= max_queued_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("server busy: ", max_queued_, " calls already wait for a ", name_,
                     " worker; retry after a short, growing delay"));
  }
  queue_.push_back(Item{std::move(liveness), std::move(task), std::move(abandoned)});
  return absl::OkStatus();
}

size_t WorkerPool::queued() const {
  absl::MutexLock lock(&mu_);
  return queue_.size();
}

void WorkerPool::Work(int nice) {
  // Linux keeps a nice value per thread: this one only (the name is at most 15 bytes).
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  if (setpriority(PRIO_PROCESS, tid, getpriority(PRIO_PROCESS, tid) + nice) != 0) {
    Log(Severity::kWarning, "%s: cannot lower the priority of a worker thread", name_);
  }
  for (;;) {
    Item item;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](WorkerPool* p)
               ABSL_SHARED_LOCKS_REQUIRED(p->mu_) { return p->stopping_ || !p->queue_.empty(); },
          this));
      if (queue_.empty()) return;  // stopping, and everything queued has run
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    if (item.liveness == nullptr || item.liveness->Wanted(absl::Now())) {
      std::move(item.task)();
    } else {
      std::move(item.abandoned)();
    }
  }
}

}  // namespace safeguarding::services
