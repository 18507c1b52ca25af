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

// Keeps the pool's one worker busy until `release` is notified.
void Occupy(WorkerPool& pool, absl::Notification& release) {
  absl::Notification busy;
  ASSERT_TRUE(pool.Post(
                      nullptr,
                      [&] {
                        busy.Notify();
                        release.WaitForNotification();
                      },
                      [] {})
                  .ok());
  busy.WaitForNotification();
}

TEST(WorkerPoolTest, TasksRunOnTheirOwnThreadsAtTheLowerPriority) {
  const int ours = OwnThreadNice();
  WorkerPool pool("test-pool", 2, 7);
  std::atomic<int> nice{-100};
  std::thread::id ran_on;
  absl::Notification done;
  ASSERT_TRUE(pool.Post(
                      nullptr,
                      [&] {
                        nice = OwnThreadNice();
                        ran_on = std::this_thread::get_id();
                        done.Notify();
                      },
                      [] { ADD_FAILURE() << "no liveness: always runs"; })
                  .ok());
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(nice.load(), std::min(19, ours + 7));
  EXPECT_EQ(OwnThreadNice(), ours) << "the caller's thread keeps its priority";
}

TEST(WorkerPoolTest, ATaskWhoseCallerGaveUpWhileItWaitedDoesNotRun) {
  WorkerPool pool("test-pool", 1, 0);
  absl::Notification release;
  ASSERT_NO_FATAL_FAILURE(Occupy(pool, release));
  auto cancelled = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
  auto expiring = std::make_shared<common::CallLiveness>(absl::Now() + absl::Milliseconds(20));
  auto live = std::make_shared<common::CallLiveness>(absl::InfiniteFuture());
  std::atomic<int> ran{0}, abandoned{0};
  for (const auto& liveness : {cancelled, expiring, live}) {
    ASSERT_TRUE(pool.Post(
                        liveness, [&] { ++ran; }, [&] { ++abandoned; })
                    .ok());
  }
  EXPECT_EQ(pool.queued(), 3u);
  cancelled->Cancel();
  absl::SleepFor(absl::Milliseconds(40));  // past `expiring`'s deadline
  release.Notify();
  absl::Notification drained;
  ASSERT_TRUE(pool.Post(
                      nullptr, [&] { drained.Notify(); }, [] {})
                  .ok());
  drained.WaitForNotification();
  EXPECT_EQ(ran.load(), 1) << "only the caller still waiting";
  EXPECT_EQ(abandoned.load(), 2);
}

TEST(WorkerPoolTest, TheDestructorRunsWhatIsQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool("test-pool", 1, 0);
    for (int i = 0; i < 50; ++i)
      ASSERT_TRUE(pool.Post(
                          nullptr, [&] { ++ran; }, [] {})
                      .ok());
  }
  EXPECT_EQ(ran.load(), 50);
}

// Past `max_queued` waiting tasks, Post refuses at once and queues nothing.
TEST(WorkerPoolTest, AFullQueueRefusesTheTaskAndRunsNeitherCallback) {
  WorkerPool pool("test-pool", 1, 0, 2);
  absl::Notification release;
  ASSERT_NO_FATAL_FAILURE(Occupy(pool, release));
  std::atomic<int> ran{0};
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(pool.Post(
                        nullptr, [&] { ++ran; }, [] {})
                    .ok());
  }
  const absl::Status full = pool.Post(
      nullptr, [] { ADD_FAILURE() << "refused: never runs"; },
      [] { ADD_FAILURE() << "refused: never abandoned either"; });
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(full.message(),
            "server busy: 2 calls already wait for a test-pool worker; retry after a short, "
            "growing delay");
  EXPECT_EQ(pool.queued(), 2u);
  release.Notify();
  absl::Notification drained;
  while (!pool.Post(
                  nullptr, [&] { drained.Notify(); }, [] {})
              .ok()) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  drained.WaitForNotification();
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace safeguarding::services
