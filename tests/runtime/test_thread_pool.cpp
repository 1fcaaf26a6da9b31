// The thread pool: every index exactly once, work spread over several threads, concurrent
// loops sharing one pool, shared pools by size.
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "runtime/thread_pool.h"

namespace evoc {
namespace {

TEST_CASE("parallel_for runs every index exactly once") {
  ThreadPool pool(4);
  CHECK(pool.size() == 4);
  for (std::size_t count : {0u, 1u, 3u, 7u, 1000u}) {
    std::vector<std::atomic<int>> hits(count);
    pool.parallel_for(count, [&](std::size_t i) { ++hits[i]; });
    for (std::size_t i = 0; i < count; ++i) REQUIRE(hits[i] == 1);
  }
}

TEST_CASE("a loop's tasks run on several threads") {
  ThreadPool pool(3);
  std::mutex mutex;
  std::set<std::thread::id> ids;
  pool.parallel_for(30, [&](std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard lock(mutex);
    ids.insert(std::this_thread::get_id());
  });
  CHECK(ids.size() >= 2);
  CHECK(ids.size() <= 3);
}

TEST_CASE("loops from many threads share one pool") {
  ThreadPool pool(3);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 6; ++t)
    callers.emplace_back([&] {
      for (int round = 0; round < 200; ++round)
        pool.parallel_for(17, [&](std::size_t i) { total += static_cast<long>(i); });
    });
  for (std::thread& t : callers) t.join();
  CHECK(total == 6L * 200 * (16 * 17 / 2));
}

TEST_CASE("shared pools are one per size") {
  CHECK(&ThreadPool::shared(2) == &ThreadPool::shared(2));
  CHECK(&ThreadPool::shared(2) != &ThreadPool::shared(3));
  CHECK(ThreadPool::shared(0).size() == hardware_threads());
  CHECK(ThreadPool::shared(1).size() == 1);
}

}  // namespace
}  // namespace evoc
