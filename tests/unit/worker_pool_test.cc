// WorkerPool: tasks run on the pool's own threads, at the lower priority asked for; a task
// whose caller gave up while it waited does not run (its abandoned callback does); the
// destructor runs what is queued.
#include "services/worker_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace safeguarding::services {
namespace {

int OwnThreadNice() { return getpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid))); }

TEST(WorkerPoolTest, TasksRunOnTheirOwnThreadsAtTheLowerPriority) {
  const int ours = OwnThreadNice();
  WorkerPool pool("test-pool", 2, 7);
  std::atomic<int> nice{-100};
  std::thread::id ran_on;
  absl::Notification done;
  pool.Post(
      nullptr,
      [&] {
        nice = OwnThreadNice();
        ran_on = std::this_thread::get_id();
        done.Notify();
      },
      [] { ADD_FAILURE() << "no liveness: always runs"; });
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(nice.load(), std::min(19, ours + 7));
  EXPECT_EQ(OwnThreadNice(), ours) << "the caller's thread keeps its priority";
}

TEST(WorkerPoolTest, ATaskWhoseCallerGaveUpWhileItWaitedDoesNotRun) {
  WorkerPool pool("test-pool", 1, 0);
  absl::Notification busy, release;
  pool.Post(
      nullptr,
      [&] {
        busy.Notify();
        release.WaitForNotification();
      },
      [] {});
  busy.WaitForNotification();
  auto cancelled = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
  auto expiring = std::make_shared<common::CallLiveness>(absl::Now() + absl::Milliseconds(20));
  auto live = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
  std::atomic<int> ran{0}, abandoned{0};
  for (const auto& liveness : {cancelled, expiring, live}) {
    pool.Post(
        liveness, [&] { ++ran; }, [&] { ++abandoned; });
  }
  EXPECT_EQ(pool.queued(), 3u);
  cancelled->Cancel();
  absl::SleepFor(absl::Milliseconds(40));  // past `expiring`'s deadline
  release.Notify();
  absl::Notification drained;
  pool.Post(
      nullptr, [&] { drained.Notify(); }, [] {});
  drained.WaitForNotification();
  EXPECT_EQ(ran.load(), 1) << "only the caller still waiting";
  EXPECT_EQ(abandoned.load(), 2);
}

TEST(WorkerPoolTest, TheDestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool("test-pool", 1, 0);
    for (int i = 0; i < 50; ++i)
      pool.Post(
          nullptr, [&] { ++ran; }, [] {});
  }
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace safeguarding::services
