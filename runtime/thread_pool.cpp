// The thread pool (see thread_pool.h). A parallel loop is a shared `Loop` record: an atomic
// counter hands out indices, a second one counts finished tasks. The caller queues one entry
// per helper it wants, then claims indices itself; helpers that wake up after every index is
// claimed find nothing to do and drop their reference, so the caller only waits for tasks
// that actually started.
#include "runtime/thread_pool.h"

#include <atomic>
#include <map>

namespace evoc {

struct ThreadPool::Loop {
  const std::function<void(std::size_t)>* task;
  std::size_t count;
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex mutex;
  std::condition_variable finished;

  /// Claims and runs indices until none are left.
  void run() {
    for (std::size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < count;) {
      (*task)(i);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == count) {
        std::lock_guard lock(mutex);
        finished.notify_all();
      }
    }
  }
};

unsigned hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? n : 1;
}

ThreadPool::ThreadPool(unsigned threads) {
  for (unsigned i = 1; i < threads; ++i) workers_.emplace_back([this] { work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::work() {
  for (;;) {
    std::shared_ptr<Loop> loop;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to help with
      loop = std::move(queue_.front());
      queue_.pop_front();
    }
    loop->run();
  }
}

void ThreadPool::parallel_for(std::size_t count, const std::function<void(std::size_t)>& task) {
  if (count == 0) return;
  const std::size_t helpers = std::min<std::size_t>(workers_.size(), count - 1);
  if (helpers == 0) {
    for (std::size_t i = 0; i < count; ++i) task(i);
    return;
  }
  auto loop = std::make_shared<Loop>();
  loop->task = &task;
  loop->count = count;
  {
    std::lock_guard lock(mutex_);
    for (std::size_t h = 0; h < helpers; ++h) queue_.push_back(loop);
  }
  if (helpers == 1)
    wake_.notify_one();
  else
    wake_.notify_all();
  loop->run();
  std::unique_lock lock(loop->mutex);
  loop->finished.wait(lock, [&] { return loop->done.load(std::memory_order_acquire) == count; });
}

ThreadPool& ThreadPool::shared(unsigned threads) {
  static std::mutex mutex;
  static auto* pools = new std::map<unsigned, ThreadPool*>;
  if (threads == 0) threads = hardware_threads();
  std::lock_guard lock(mutex);
  ThreadPool*& pool = (*pools)[threads];
  if (!pool) pool = new ThreadPool(threads);
  return *pool;
}

}  // namespace evoc
