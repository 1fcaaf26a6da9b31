// A fixed pool of worker threads for data-parallel loops: the threads start once, when the
// pool is created, and every parallel_for call hands them indices to work on. The calling
// thread works too, so a pool of size N runs N tasks at a time with N - 1 workers.
//
// Process-wide pools are shared by size (ThreadPool::shared), so many kernels asking for the
// same number of threads share one set of workers instead of starting their own.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace evoc {

/// Worker threads that run the tasks of parallel loops.
class ThreadPool {
 public:
  /// A pool that runs up to `threads` tasks at once (at least 1): threads - 1 workers plus
  /// the caller of parallel_for.
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  /// Tasks run at once, the caller included.
  unsigned size() const { return static_cast<unsigned>(workers_.size()) + 1; }

  /// Runs task(i) for every i in [0, count), spread over the workers and the calling thread,
  /// and returns when all have finished. `task` must not throw. Safe to call from many
  /// threads at once; the calls share the workers.
  void parallel_for(std::size_t count, const std::function<void(std::size_t)>& task);

  /// The process-wide pool of `threads` threads (0 means std::thread::hardware_concurrency()),
  /// created on first use and never destroyed, so it outlives every static kernel.
  static ThreadPool& shared(unsigned threads);

 private:
  struct Loop;
  void work();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<Loop>> queue_;  ///< one entry per worker a loop asks for
  bool stopping_ = false;
};

/// The number of hardware threads (at least 1).
unsigned hardware_threads();

}  // namespace evoc
