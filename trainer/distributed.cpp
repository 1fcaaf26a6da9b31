// The c10d side of trainer/distributed.h: the store, the rendezvous checks, the Gloo process
// group, heartbeats that name a lost rank, and the launcher of local workers.
#include "trainer/distributed.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <span>
#include <thread>
#include <utility>

#include <fmt/core.h>
#include <fmt/ranges.h>

#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1  // ProcessGroupGloo.hpp declares nothing without it
#endif
#include <gloo/allgather_ring.h>
#include <gloo/rendezvous/context.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

extern char** environ;

namespace evoc::trainer {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kBeat = std::chrono::milliseconds(250);  // heartbeat period
constexpr const char* kLauncherVariable = "EVOC_STORE_BY_LAUNCHER";

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

std::string to_string(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }
std::vector<uint8_t> to_bytes(const std::string& text) { return std::vector<uint8_t>(text.begin(), text.end()); }

/// The first line of a c10d message (its later lines are a C++ backtrace).
std::string first_line(const std::exception& e) {
  std::string what = e.what();
  if (auto* c10 = dynamic_cast<const c10::Error*>(&e)) what = c10->what_without_backtrace();
  return what.substr(0, what.find('\n'));
}

std::string hello_key(int rank) { return fmt::format("evoc/hello/{}", rank); }
std::string beat_key(int rank) { return fmt::format("evoc/beat/{}", rank); }

c10::intrusive_ptr<c10d::TCPStore> connect_store(const ClusterOptions& o, bool server) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(o.master_port);
  so.isServer = server;
  so.waitWorkers = false;
  so.timeout = to_ms(o.timeout_seconds);
  return c10::make_intrusive<c10d::TCPStore>(o.master_host, so);
}

}  // namespace

struct Cluster::Impl {
  ClusterOptions options;
  c10::intrusive_ptr<c10d::TCPStore> store;  // the rendezvous and the failure analysis
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  /// The sums (one or more every training step) take a Gloo context of their own, on the
  /// process group's device, whose pairs the calling thread reads itself (Gloo's synchronous
  /// mode), busy-polling where every rank of the machine has a core: the process group hands
  /// each collective to its worker thread and the device's event loop, a chain of thread
  /// wake-ups that cost 0.5-1 ms per sum on a 2-core machine (`distributed_check 2 latency`).
  std::shared_ptr<gloo::rendezvous::Context> direct;
  /// Gloo's ring all-gather of one size, with its buffers (created once per size, in the same
  /// order on every rank, as the ranks sum the same sizes in the same order).
  struct Gathering {
    std::vector<uint8_t> in, out;
    std::unique_ptr<gloo::AllgatherRing<uint8_t>> ring;
  };
  std::map<std::size_t, Gathering> gatherings;  // by size in bytes
  std::thread heartbeat;
  std::mutex heartbeat_mutex;
  std::condition_variable heartbeat_wake;  // ends the heartbeat's wait at once when it stops
  bool stop = false;                       // (under heartbeat_mutex)
  bool failed = false;

  /// Stops the heartbeat thread and joins it.
  void stop_heartbeat() {
    {
      std::lock_guard<std::mutex> lock(heartbeat_mutex);
      stop = true;
    }
    heartbeat_wake.notify_all();
    if (heartbeat.joinable()) heartbeat.join();
  }

  /// Waits for `work`; on failure finds the ranks whose heartbeat stopped and throws LostRank.
  Cluster::Stats stats;

  void wait(const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
    const auto start = Clock::now();
    try {
      work->wait();
      ++stats.exchanges;
      stats.seconds += std::chrono::duration<double>(Clock::now() - start).count();
    } catch (const std::exception& e) {
      failed = true;
      throw LostRank(lost_ranks_message(what, first_line(e)));
    }
  }

  std::string lost_ranks_message(const char* what, const std::string& cause) {
    const int n = options.world_size;
    std::vector<int> lost;
    try {
      std::vector<int64_t> before(n), after(n);
      for (int r = 0; r < n; ++r) before[r] = store->add(beat_key(r), 0);
      std::this_thread::sleep_for(8 * kBeat);
      for (int r = 0; r < n; ++r) after[r] = store->add(beat_key(r), 0);
      for (int r = 0; r < n; ++r)
        if (r != options.rank && after[r] == before[r]) lost.push_back(r);
    } catch (const std::exception&) {
      return fmt::format("rank {}: lost {} during {}: the store on {}:{} is gone too ({})", options.rank,
                         options.store_by_launcher ? "the launcher" : "rank 0", what, options.master_host,
                         options.master_port, cause);
    }
    if (lost.empty())
      return fmt::format("rank {}: {} failed and every rank still has a heartbeat: a rank is stuck or slower than "
                         "--timeout {} s ({})",
                         options.rank, what, options.timeout_seconds, cause);
    return fmt::format("rank {}: lost rank {} during {} (its heartbeat stopped): {}", options.rank,
                       fmt::join(lost, ", "), what, cause);
  }
};

Cluster::Cluster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Cluster::~Cluster() {
  impl_->stop_heartbeat();
  // After a failure the process group's threads may still wait on the lost peer: leave it to
  // the process's exit rather than join them.
  if (impl_->failed) {
    impl_->group.release();
    impl_->store.release();
    impl_->gatherings.clear();
    (void)new std::shared_ptr<gloo::rendezvous::Context>(std::move(impl_->direct));  // left to the exit, too
  }
}

int Cluster::rank() const { return impl_->options.rank; }
Cluster::Stats Cluster::stats() const { return impl_->stats; }
int Cluster::size() const { return impl_->options.world_size; }

std::unique_ptr<Cluster> Cluster::join(const ClusterOptions& o, const std::string& fingerprint) {
  // A worker of a launcher has a process group of its own (see launch_workers), so what ends the
  // launcher's group (a closed terminal) does not reach it: it gets SIGTERM when the launcher dies.
  // Its name says its rank (`ps`, `top`; a forked worker's /proc/PID/environ shows the
  // launcher's environment, without RANK).
  if (o.store_by_launcher) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) raise(SIGTERM);  // the launcher died before the line above
    prctl(PR_SET_NAME, fmt::format("evoc rank {}", o.rank).c_str());
  }
  auto impl = std::make_unique<Impl>();
  impl->options = o;
  const std::string master = fmt::format("{}:{}", o.master_host, o.master_port);
  const bool server = o.rank == 0 && !o.store_by_launcher;
  try {
    impl->store = connect_store(o, server);
  } catch (const std::exception& e) {
    if (server)
      throw Error(fmt::format("--master {}: rank 0 cannot listen there (is the port in use by another run?): {}",
                              master, first_line(e)));
    throw Error(fmt::format("--master {}: rank {} cannot reach the master within {} s (is rank 0 running, and "
                            "are the address and port right?): {}",
                            master, o.rank, o.timeout_seconds, first_line(e)));
  }
  c10d::TCPStore& store = *impl->store;
  const std::string hello = fmt::format("{}\n{}", o.world_size, fingerprint);
  auto parse_hello = [](const std::string& text) {
    std::size_t cut = text.find('\n');
    return std::make_pair(std::atoi(text.substr(0, cut).c_str()), text.substr(cut + 1));
  };
  try {
    if (store.add(fmt::format("evoc/joined/{}", o.rank), 1) > 1)
      throw Error(fmt::format("--rank {}: a second process was started as rank {} of the run at {}", o.rank,
                              o.rank, master));
    store.set(hello_key(o.rank), to_bytes(hello));
    if (o.rank == 0) {
      std::string verdict = "ok";
      for (int r = 1; r < o.world_size && verdict == "ok"; ++r) {
        try {
          store.wait({hello_key(r)}, to_ms(o.timeout_seconds));
        } catch (const std::exception&) {
          verdict = fmt::format("rank {} did not join the run at {} within {} s (was it started, with --world-size "
                                "{} and the same --master?)",
                                r, master, o.timeout_seconds, o.world_size);
          break;
        }
        auto [size, theirs] = parse_hello(to_string(store.get(hello_key(r))));
        if (size != o.world_size)
          verdict = fmt::format("rank {} was started with --world-size {} but rank 0 with {}", r, size, o.world_size);
        else if (theirs != fingerprint)
          verdict = fmt::format("rank {} was started with other options than rank 0 (every rank needs the same data "
                                "and training options)\n  rank 0: {}\n  rank {}: {}",
                                r, fingerprint, r, theirs);
      }
      store.set("evoc/verdict", to_bytes(verdict));
      if (verdict != "ok") {
        // This process hosts the store: stay until the ranks that came have read the verdict.
        int came = 0;
        for (int r = 1; r < o.world_size; ++r) came += store.check({hello_key(r)}) ? 1 : 0;
        const auto until = Clock::now() + std::min(to_ms(o.timeout_seconds), std::chrono::milliseconds(5000));
        while (store.add("evoc/read", 0) < came && Clock::now() < until)
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        throw Error(verdict);
      }
    } else {
      store.wait({hello_key(0)}, to_ms(o.timeout_seconds));
      auto [size, theirs] = parse_hello(to_string(store.get(hello_key(0))));
      if (size != o.world_size) {
        store.add("evoc/read", 1);
        throw Error(fmt::format("--world-size {}: rank 0 of the run at {} was started with --world-size {}",
                                o.world_size, master, size));
      }
      store.wait({"evoc/verdict"}, to_ms(o.timeout_seconds));
      std::string verdict = to_string(store.get("evoc/verdict"));
      store.add("evoc/read", 1);
      if (verdict != "ok") throw Error(fmt::format("rank 0 refused the run: {}", verdict));
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {}: the rendezvous at {} failed within {} s: {}", o.rank, master,
                            o.timeout_seconds, first_line(e)));
  }

  // Heartbeats, on a connection of their own (a store client is not shared between threads).
  c10::intrusive_ptr<c10d::TCPStore> beats = connect_store(o, /*server=*/false);
  impl->heartbeat = std::thread([beats, rank = o.rank, impl = impl.get()]() {
    try {
      std::unique_lock<std::mutex> lock(impl->heartbeat_mutex);
      while (!impl->stop) {
        lock.unlock();
        beats->add(beat_key(rank), 1);
        lock.lock();
        impl->heartbeat_wake.wait_for(lock, kBeat, [impl] { return impl->stop; });
      }
    } catch (const std::exception&) {
      // The store is gone: the collective that fails next reports it.
    }
  });

  auto options = c10d::ProcessGroupGloo::Options::create(to_ms(o.timeout_seconds));
  const bool local = o.master_host == "127.0.0.1" || o.master_host == "localhost";
  try {
    if (!o.interface.empty())
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.interface));
    else if (local)
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  } catch (const std::exception& e) {
    impl->stop_heartbeat();
    throw Error(fmt::format("rank {}: cannot create the Gloo device{}: {}", o.rank,
                            o.interface.empty() ? "" : " on interface " + o.interface, first_line(e)));
  }
  options->threads = 1;
  try {
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.world_size, options);
  } catch (const std::exception& e) {
    impl->stop_heartbeat();
    throw Error(fmt::format("rank {}: the ranks did not connect within {} s: {}", o.rank, o.timeout_seconds,
                            first_line(e)));
  }
  try {
    impl->direct = std::make_shared<gloo::rendezvous::Context>(o.rank, o.world_size);
    impl->direct->setTimeout(to_ms(o.timeout_seconds));
    c10d::ProcessGroupGloo::GlooStore keys(c10::make_intrusive<c10d::PrefixStore>("evoc/direct", impl->store));
    impl->direct->connectFullMesh(keys, options->devices[0]);
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const bool busy_poll = local && o.world_size <= cores;
    for (int r = 0; r < o.world_size; ++r)
      if (r != o.rank) impl->direct->getPair(r)->setSync(true, busy_poll);
  } catch (const std::exception& e) {
    impl->stop_heartbeat();
    throw Error(fmt::format("rank {}: the ranks did not connect within {} s: {}", o.rank, o.timeout_seconds,
                            first_line(e)));
  }
  return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

namespace {

/// Every rank's `bytes` bytes at `in`, in rank order, through the direct context; valid until
/// the next gathering of that size.
const uint8_t* gather(Cluster::Impl& impl, const void* in, std::size_t bytes, const char* what) {
  const auto ranks = static_cast<std::size_t>(impl.options.world_size);
  Cluster::Impl::Gathering& g = impl.gatherings[bytes];
  const auto start = Clock::now();
  try {
    if (!g.ring) {
      g.in.resize(bytes);
      g.out.resize(bytes * ranks);
      g.ring = std::make_unique<gloo::AllgatherRing<uint8_t>>(impl.direct, std::vector<const uint8_t*>{g.in.data()},
                                                              g.out.data(), static_cast<int>(bytes));
    }
    std::memcpy(g.in.data(), in, bytes);
    g.ring->run();
  } catch (const std::exception& e) {
    impl.failed = true;
    throw LostRank(impl.lost_ranks_message(what, first_line(e)));
  }
  ++impl.stats.exchanges;
  impl.stats.seconds += std::chrono::duration<double>(Clock::now() - start).count();
  return g.out.data();
}

/// Every rank's copy of data[0..n), summed in rank order into `data` (the same bits on every rank).
template <class T>
void sum_in_rank_order(Cluster::Impl& impl, T* data, std::size_t n) {
  const std::size_t bytes = n * sizeof(T);
  const uint8_t* all = gather(impl, data, bytes, "a sum");
  std::vector<T> part(n);
  std::memcpy(data, all, bytes);
  for (int r = 1; r < impl.options.world_size; ++r) {
    std::memcpy(part.data(), all + static_cast<std::size_t>(r) * bytes, bytes);
    for (std::size_t i = 0; i < n; ++i) data[i] += part[i];
  }
}

}  // namespace

void Cluster::sum(float* data, std::size_t n) {
  if (n > 0) sum_in_rank_order(*impl_, data, n);
}

void Cluster::sum(double* data, std::size_t n) {
  if (n > 0) sum_in_rank_order(*impl_, data, n);
}

std::string Cluster::broadcast(const std::string& text, int root) {
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  std::vector<torch::Tensor> length{torch::full({1}, static_cast<int64_t>(text.size()), torch::kLong)};
  impl_->wait(impl_->group->broadcast(length, opts), "a broadcast");
  const int64_t n = length[0].item<int64_t>();
  if (n == 0) return "";
  std::vector<torch::Tensor> bytes{torch::empty({n}, torch::kByte)};
  if (rank() == root) std::memcpy(bytes[0].data_ptr<uint8_t>(), text.data(), text.size());
  impl_->wait(impl_->group->broadcast(bytes, opts), "a broadcast");
  return std::string(reinterpret_cast<const char*>(bytes[0].data_ptr<uint8_t>()), static_cast<std::size_t>(n));
}

std::vector<std::string> Cluster::all_gather(const std::string& text) {
  const auto n = static_cast<std::size_t>(size());
  const auto mine = static_cast<uint64_t>(text.size());
  std::vector<uint64_t> lengths(n);
  std::memcpy(lengths.data(), gather(*impl_, &mine, sizeof mine, "an exchange"), n * sizeof mine);
  // Texts travel padded to a power of two, so that the gatherings kept (one per size) stay few.
  std::size_t padded = 64;
  for (uint64_t length : lengths)
    while (padded < length) padded *= 2;
  std::string buffer(padded, '\0');
  std::memcpy(buffer.data(), text.data(), text.size());
  const uint8_t* all = gather(*impl_, buffer.data(), padded, "an exchange");
  std::vector<std::string> texts;
  for (std::size_t r = 0; r < n; ++r)
    texts.emplace_back(reinterpret_cast<const char*>(all + r * padded), static_cast<std::size_t>(lengths[r]));
  return texts;
}

void Cluster::check_same(uint64_t hash, const std::string& what) {
  std::vector<std::string> hashes = all_gather(fmt::format("{:016x}", hash));
  for (int r = 1; r < size(); ++r)
    if (hashes[r] != hashes[0])
      throw Error(fmt::format("the ranks differ after {}: rank {} holds parameters with hash {}, rank 0 {}", what, r,
                              hashes[r], hashes[0]));
}

void Cluster::barrier() { impl_->wait(impl_->group->barrier(), "a barrier"); }

// ---- where this process stands ---------------------------------------------------------------

namespace {

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

int parse_count(const std::string& text, const std::string& source, int low, int high) {
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < low || value > high)
    throw Error(fmt::format("{}: '{}' is not an integer in [{}, {}]", source, text, low, high));
  return static_cast<int>(value);
}

}  // namespace

bool started_as_rank(int rank_flag) { return rank_flag >= 0 || !environment("RANK").empty(); }

ClusterOptions cluster_options(int rank, int world_size, const std::string& master, double timeout_seconds) {
  ClusterOptions o;
  if (!(timeout_seconds > 0)) throw Error("--timeout must be positive");
  o.timeout_seconds = timeout_seconds;
  if (world_size >= 1) o.world_size = world_size;
  else if (!environment("WORLD_SIZE").empty())
    o.world_size = parse_count(environment("WORLD_SIZE"), "WORLD_SIZE", 1, 1 << 16);
  else
    throw Error("--rank: give the number of ranks too (--world-size N or WORLD_SIZE)");
  if (rank >= 0) o.rank = rank;
  else o.rank = parse_count(environment("RANK"), "RANK", 0, 1 << 16);
  if (o.rank >= o.world_size)
    throw Error(fmt::format("--rank {}: must be below --world-size {}", o.rank, o.world_size));
  if (!master.empty()) {
    std::size_t colon = master.rfind(':');
    if (colon == std::string::npos || colon == 0)
      throw Error(fmt::format("--master '{}': expected HOST:PORT", master));
    o.master_host = master.substr(0, colon);
    o.master_port = parse_count(master.substr(colon + 1), "--master " + master + ": the port", 1, 65535);
  } else {
    if (!environment("MASTER_ADDR").empty()) o.master_host = environment("MASTER_ADDR");
    if (!environment("MASTER_PORT").empty())
      o.master_port = parse_count(environment("MASTER_PORT"), "MASTER_PORT", 1, 65535);
  }
  o.store_by_launcher = environment(kLauncherVariable) == "1";
  o.interface = environment("GLOO_SOCKET_IFNAME");
  return o;
}

// ---- the launcher ----------------------------------------------------------------------------

namespace {

std::vector<pid_t> g_workers;  // for the signal handler
volatile std::sig_atomic_t g_forwarded = 0;  // the first SIGINT/SIGTERM passed on to the workers

void forward_signal(int signal) {
  if (g_forwarded == 0) g_forwarded = signal;
  for (pid_t pid : g_workers)
    if (pid > 0) kill(pid, signal);
}

/// This process's command line.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < all.size()) {
    std::size_t end = all.find('\0', start);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(start, end - start));
    start = end + 1;
  }
  return args;
}

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("exited with status {}", WEXITSTATUS(status));
}

/// The threads of this process (/proc/self/status); 0 if unknown.
int thread_count() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  return 0;
}

/// Reads the store's port from `fd` (the launcher writes it once the store is up); 0 when the
/// launcher closed the pipe instead. Async-signal-safe.
int read_port(int fd) {
  int port = 0;
  std::size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(&port);
  while (got < sizeof port) {
    const ssize_t n = read(fd, bytes + got, sizeof port - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return 0;
    got += static_cast<std::size_t>(n);
  }
  return port;
}

/// Writes the decimal digits of `value` > 0 at `at`, and a NUL after them. Async-signal-safe.
void write_decimal(char* at, int value) {
  char digits[12];
  int n = 0;
  for (; value > 0; value /= 10) digits[n++] = static_cast<char>('0' + value % 10);
  while (n > 0) *at++ = digits[--n];
  *at = '\0';
}

}  // namespace

Launch launch_workers(int workers, double timeout_seconds) {
  // Each worker is a fork of this process, which has LibTorch loaded and initialised already
  // (0.6 s of every process's start): it goes on from here as its rank. fork() copies the
  // calling thread only, so the workers are forked before the store starts its threads, and
  // each waits on a pipe for the store's port. Should this process have other threads already,
  // a worker runs this executable anew instead (exec, which is safe after fork).
  const bool exec_workers = thread_count() != 1 || environment("EVOC_LAUNCH") == "exec";
  std::vector<std::string> args = own_arguments();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> base;  // the workers' environment, but for RANK and MASTER_PORT
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    std::string name = entry.substr(0, entry.find('='));
    if (name != "RANK" && name != "WORLD_SIZE" && name != "MASTER_ADDR" && name != "MASTER_PORT" &&
        name != "LOCAL_RANK" && name != kLauncherVariable)
      base.push_back(entry);
  }
  base.push_back("MASTER_ADDR=127.0.0.1");
  base.push_back(fmt::format("WORLD_SIZE={}", workers));
  base.push_back(fmt::format("{}=1", kLauncherVariable));

  // SIGINT and SIGTERM wait while the workers are forked: the launcher passes them on once
  // every pid is known; a worker takes back this process's own handlers (the run's stop).
  struct sigaction forward {};
  forward.sa_handler = forward_signal;
  sigemptyset(&forward.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigset_t stops, unblocked;
  sigemptyset(&stops);
  sigaddset(&stops, SIGINT);
  sigaddset(&stops, SIGTERM);
  sigprocmask(SIG_BLOCK, &stops, &unblocked);
  g_workers.assign(static_cast<std::size_t>(workers), 0);
  sigaction(SIGINT, &forward, &old_int);
  sigaction(SIGTERM, &forward, &old_term);
  std::fflush(stdout);
  std::fflush(stderr);

  std::vector<int> port_pipes(static_cast<std::size_t>(workers), -1);  // the write ends
  auto close_pipes = [&] {
    for (int& fd : port_pipes)
      if (fd >= 0) close(std::exchange(fd, -1));
  };
  auto end_workers = [&] {
    close_pipes();  // a worker still waiting for the port reads the end of its pipe and exits
    for (pid_t p : g_workers)
      if (p > 0) waitpid(p, nullptr, 0);
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigprocmask(SIG_SETMASK, &unblocked, nullptr);
    g_workers.clear();
  };
  for (int r = 0; r < workers; ++r) {
    std::vector<std::string> env = base;
    env.push_back(fmt::format("RANK={}", r));
    env.push_back(fmt::format("LOCAL_RANK={}", r));
    env.push_back(std::string("MASTER_PORT=") + std::string(6, '\0'));  // the digits, once known
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* port_digits = env.back().data() + std::strlen("MASTER_PORT=");
    int fds[2];
    if (pipe(fds) != 0) {
      const int err = errno;
      end_workers();
      throw Error(fmt::format("--workers: cannot start worker {}: pipe: {}", r, std::strerror(err)));
    }
    const pid_t pid = fork();
    if (pid == 0) {
      // The worker. Each in a process group of its own: a terminal's Ctrl-C reaches the
      // launcher alone, which passes it on once (a second signal would end a worker at once).
      setpgid(0, 0);
      close(fds[1]);
      for (int fd : port_pipes)
        if (fd >= 0) close(fd);
      const int port = read_port(fds[0]);
      close(fds[0]);
      if (port <= 0) _exit(1);  // the launcher failed, and says why
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      if (exec_workers) {
        write_decimal(port_digits, port);
        sigprocmask(SIG_SETMASK, &unblocked, nullptr);
        execve("/proc/self/exe", argv.data(), envp.data());
        _exit(127);
      }
      g_workers.clear();
      for (const std::string& e : env) {
        const std::size_t eq = e.find('=');
        if (e.rfind("MASTER_PORT=", 0) != 0) setenv(e.substr(0, eq).c_str(), e.c_str() + eq + 1, 1);
      }
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      sigprocmask(SIG_SETMASK, &unblocked, nullptr);
      return Launch{.worker = true};
    }
    const int err = errno;
    close(fds[0]);
    if (pid < 0) {
      close(fds[1]);
      end_workers();
      throw Error(fmt::format("--workers: cannot start worker {}: {}", r, std::strerror(err)));
    }
    g_workers[r] = pid;
    port_pipes[r] = fds[1];
  }

  c10d::TCPStoreOptions so;
  so.port = 0;  // a free port
  so.isServer = true;
  so.waitWorkers = false;
  so.timeout = to_ms(timeout_seconds);
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", so);
  } catch (const std::exception& e) {
    end_workers();
    throw Error(fmt::format("--workers: cannot host the store on 127.0.0.1: {}", first_line(e)));
  }
  const int port = store->getPort();
  // A worker that died before reading its port must not take the launcher with it (SIGPIPE).
  struct sigaction ignore {}, old_pipe {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old_pipe);
  for (int& fd : port_pipes) {
    const auto* bytes = reinterpret_cast<const char*>(&port);
    std::size_t sent = 0;
    while (sent < sizeof port) {
      const ssize_t n = write(fd, bytes + sent, sizeof port - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the worker is gone: the wait below says how
      sent += static_cast<std::size_t>(n);
    }
  }
  close_pipes();
  sigaction(SIGPIPE, &old_pipe, nullptr);
  sigprocmask(SIG_SETMASK, &unblocked, nullptr);  // a signal that came meanwhile is passed on now

  int running = workers;
  Clock::time_point deadline = Clock::time_point::max();
  std::string failure;  // what happened to the first worker that failed
  int first_failed = -1;
  while (running > 0) {
    for (int r = 0; r < workers; ++r) {
      if (g_workers[r] <= 0) continue;
      int status = 0;
      pid_t done = waitpid(g_workers[r], &status, WNOHANG);
      if (done != g_workers[r]) continue;
      g_workers[r] = -1;
      --running;
      // After SIGINT/SIGTERM, rank 0 ends with 128 + the signal once it has written the model.
      const bool stopped = g_forwarded != 0 && WIFEXITED(status) && WEXITSTATUS(status) == 128 + g_forwarded;
      if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || stopped || first_failed >= 0) continue;
      first_failed = r;
      failure = fmt::format("worker rank {} (pid {}) {}", r, done, describe_status(status));
      deadline = Clock::now() + to_ms(timeout_seconds + 10);
    }
    if (running > 0 && Clock::now() > deadline) {
      for (int r = 0; r < workers; ++r)
        if (g_workers[r] > 0) {
          fmt::print(stderr, "evoc: error: worker rank {} did not end within {} s after rank {} failed; killing it\n",
                     r, timeout_seconds + 10, first_failed);
          kill(g_workers[r], SIGKILL);
        }
      deadline = Clock::time_point::max();
    }
    if (running > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  g_workers.clear();
  if (first_failed >= 0) throw Error(failure);
  const int forwarded = g_forwarded;
  g_forwarded = 0;
  return Launch{.signal = forwarded};
}

}  // namespace evoc::trainer

// ---- the trainer's side (trainer/parallel.h) -------------------------------------------------

#include <nlohmann/json.hpp>

#include "ir/hash.h"
#include "trainer/parallel.h"

namespace evoc::trainer {

std::pair<int64_t, int64_t> shard_of(int64_t size, const Cluster* cluster) {
  if (!cluster) return {0, size};
  const int64_t n = cluster->size(), r = cluster->rank();
  return {size * r / n, size * (r + 1) / n - size * r / n};
}

namespace {

/// The float data of `t`, which the exchange reads and overwrites in place (data-parallel runs
/// train on the CPU, in float, on contiguous tensors).
std::span<float> floats_of(const torch::Tensor& t) {
  if (!t.device().is_cpu() || t.scalar_type() != torch::kFloat || !t.is_contiguous())
    throw Error("data-parallel: a gradient or statistic is not a contiguous CPU float tensor");
  return {t.data_ptr<float>(), static_cast<std::size_t>(t.numel())};
}

/// Sums `parts` over the ranks, each rank's weighted by `share` (a float product), in place, in
/// one exchange with the `n_extra` values at `extra` (summed unweighted).
void sum_weighted(Cluster& cluster, const std::vector<std::span<float>>& parts, double share, float* extra,
                  int n_extra) {
  std::vector<float> flat;
  for (std::span<float> part : parts) flat.insert(flat.end(), part.begin(), part.end());
  const auto w = static_cast<float>(share);
  for (float& v : flat) v *= w;
  flat.insert(flat.end(), extra, extra + n_extra);
  cluster.sum(flat.data(), flat.size());
  std::copy_n(flat.end() - n_extra, n_extra, extra);
  auto at = flat.begin();
  for (std::span<float> part : parts) {
    std::copy_n(at, part.size(), part.begin());
    at += static_cast<std::ptrdiff_t>(part.size());
  }
}

/// The running statistics of every layer of `net`, appended to `parts`.
void add_statistics(Network& net, std::vector<std::span<float>>& parts) {
  for (Layer& layer : net.layers) {
    parts.push_back(floats_of(layer.running_mean));
    parts.push_back(floats_of(layer.running_var));
  }
}

}  // namespace

void sum_step(Cluster& cluster, Network& net, double share, float* extra, int n_extra) {
  torch::NoGradGuard no_grad;
  std::vector<std::span<float>> parts;
  for (Param* p : params(net))
    if (p->value.grad().defined()) parts.push_back(floats_of(p->value.grad()));
  add_statistics(net, parts);
  sum_weighted(cluster, parts, share, extra, n_extra);
}

void sum_fused_step(Cluster& cluster, Network& net, FusedGradients& g, double share, float* extra, int n_extra) {
  std::vector<std::span<float>> parts;
  if (g.scalars_used) parts.push_back(g.scalars);
  parts.push_back(g.weight);
  parts.push_back(g.bias);
  add_statistics(net, parts);
  sum_weighted(cluster, parts, share, extra, n_extra);
}

uint64_t network_hash(const Network& net) {
  return fnv1a(network_to_json(net).dump(), kContentHashSeed);
}

uint64_t island_seed(uint64_t seed, int rank) {
  return rank == 0 ? seed : seed ^ (0x9e3779b97f4a7c15ull * static_cast<uint64_t>(rank));
}

}  // namespace evoc::trainer
