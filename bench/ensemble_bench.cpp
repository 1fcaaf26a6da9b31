// evoc_ensemble_bench: one ensemble kernel (passes/link.h) against its members' kernels run one
// after the other, and the time to link and compile an ensemble of K members.
//
//   evoc_ensemble_bench [--quick] [A.evir B.evir ...]
//
// Members: the given files (e.g. `evoc train` runs with different seeds), or else 5 synthetic
// classifiers shaped like trained networks: 16 inputs read through one shared standardisation
// (as runs on one data set have), then about 60 ops of dots, activations and element-wise ops
// from a different seed each, and 3 class logits. Every member is optimised at -O2 first, as
// `evoc compile` does; the ensemble is linked (which optimises it).
//
// Table 1: ns per row (one thread, JIT -O2) of each member, of their sum, of the sum of the
// members each computing its class probabilities (each linked alone: what the mean computes of
// it), and of the ensemble (mean of probabilities, and vote; the ratio is to the plain sum), at
// batch 4096 and 1,000,000 rows: the thread's CPU time
// (so that a shared machine's other work counts less), best of several interleaved rounds in
// which each kernel runs for at least 20 ms. Table 2: for K = 1 .. members, the
// ensemble's size, the time link_modules takes and the JIT compile time (median of 5).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "codegen/jit.h"
#include "ir/parser.h"
#include "ir/random_module.h"
#include "passes/link.h"
#include "passes/pass_manager.h"

namespace evoc {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

/// A synthetic member (see the file comment): the standardisation comes from a fixed seed, the
/// rest from `seed`.
ir::Module synthetic_member(uint64_t seed) {
  ir::Rng shared(12345), rng(seed);
  ir::Module m = ir::make_module("member" + std::to_string(seed), 16);
  std::vector<ir::ValueId> pool;
  for (ir::ValueId i = 0; i < 16; ++i)
    pool.push_back(ir::add_affine(m, i, shared.uniform(0.5f, 2.0f), shared.uniform(-1, 1)));
  auto any = [&] { return pool[rng.below(pool.size())]; };
  const ir::Op activations[] = {ir::Op::Tanh, ir::Op::Sigmoid, ir::Op::Relu};
  const ir::Op binaries[] = {ir::Op::Add, ir::Op::Mul, ir::Op::Min, ir::Op::Max};
  while (m.values.size() < 16 + 16 + 57) {
    if (rng.chance(0.6f)) {
      std::vector<ir::ValueId> args;
      std::vector<float> weights;
      const std::size_t k = 2 + rng.below(6);
      for (std::size_t t = 0; t < k; ++t) {
        args.push_back(any());
        weights.push_back(rng.uniform(-1, 1));
      }
      pool.push_back(ir::add_unary(m, activations[rng.below(3)], ir::add_dot(m, args, weights, rng.uniform(-0.5f, 0.5f))));
    } else {
      pool.push_back(ir::add_binary(m, binaries[rng.below(4)], any(), any()));
    }
  }
  for (int c = 0; c < 3; ++c) {
    std::vector<ir::ValueId> args(pool.end() - 12, pool.end());
    std::vector<float> weights;
    for (std::size_t t = 0; t < args.size(); ++t) weights.push_back(rng.uniform(-1, 1));
    ir::add_output(m, ir::add_dot(m, args, weights, 0.0f), "class_" + std::to_string(c));
  }
  m.set_meta("task", "classify");
  passes::optimize(m, passes::OptLevel::O2);
  return m;
}

/// The calling thread's CPU time in seconds: on a shared machine, time the thread was not
/// running does not count (wall time would).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

/// ns/row of `run(rows)` over one timed run of at least 20 ms of CPU time.
template <class Run>
double ns_per_row(Run&& run, int64_t rows) {
  int64_t done = 0;
  const double start = cpu_seconds();
  double elapsed = 0;
  do {
    run(rows);
    done += rows;
    elapsed = cpu_seconds() - start;
  } while (elapsed < 0.02);
  return elapsed * 1e9 / static_cast<double>(done);
}

std::size_t ops(const ir::Module& m) { return m.values.size() - m.n_in(); }

}  // namespace
}  // namespace evoc

int main(int argc, char** argv) {
  using namespace evoc;
  bool quick = false;
  std::vector<passes::LinkMember> members;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
      continue;
    }
    ir::Module m = ir::read_module(argv[i]);
    passes::optimize(m, passes::OptLevel::O2);
    members.push_back({std::move(m), argv[i]});
  }
  if (members.empty())
    for (uint64_t seed = 1; seed <= 5; ++seed) members.push_back({synthetic_member(seed), fmt::format("synthetic {}", seed)});
  const int reps = quick ? 2 : 5;
  const std::vector<int64_t> batches = {4096, 1000000};
  codegen::jit_setup();

  const std::size_t n_in = members[0].module.n_in();
  const int64_t max_rows = batches.back();
  const std::vector<float> x = ir::random_rows(7, static_cast<std::size_t>(max_rows), n_in, false);
  std::vector<codegen::JitKernel> kernels;
  std::vector<std::vector<float>> ys;
  for (const passes::LinkMember& member : members) {
    kernels.push_back(codegen::compile_jit(member.module));
    ys.emplace_back(static_cast<std::size_t>(max_rows) * member.module.n_out());
  }
  const bool classify = members[0].module.meta("task") == "classify";
  // A classifier member alone with its class probabilities (an ensemble of one, its softmax):
  // what the ensemble's mean computes of each member.
  std::vector<codegen::JitKernel> prob_kernels;
  if (classify)
    for (const passes::LinkMember& member : members)
      prob_kernels.push_back(codegen::compile_jit(passes::link_modules(std::span(&member, 1))));
  std::vector<std::pair<std::string, ir::Module>> ensembles;
  for (passes::Combine combine : {passes::Combine::Mean, passes::Combine::Vote}) {
    if (combine == passes::Combine::Vote && !classify) continue;
    passes::LinkOptions options;
    options.combine = combine;
    ensembles.emplace_back(passes::combine_name(combine), passes::link_modules(members, options));
  }

  fmt::print("Ensemble of {} members against the members one after the other: ns/row, one thread, JIT -O2 ({} lanes)\n\n",
             members.size(), kernels[0].vector_width());
  std::size_t member_ops = 0;
  for (const passes::LinkMember& member : members) member_ops += ops(member.module);
  fmt::print("members: {} ops in all; ensemble (mean): {} ops ({})\n\n", member_ops, ops(ensembles[0].second),
             ensembles[0].second.meta("ensemble.shared"));
  fmt::print("| batch | members (each) | sum of members |{}", classify ? " sum of members with probabilities |" : "");
  for (const auto& [name, m] : ensembles) fmt::print(" ensemble ({}) | ratio |", name);
  fmt::print("\n|---:|---|---:|{}", classify ? "---:|" : "");
  for (std::size_t e = 0; e < ensembles.size(); ++e) fmt::print("---:|---:|");
  fmt::print("\n");
  std::vector<codegen::JitKernel> ensemble_kernels;
  for (const auto& [name, m] : ensembles) ensemble_kernels.push_back(codegen::compile_jit(m));
  std::vector<float> ey(static_cast<std::size_t>(max_rows) * ensembles[0].second.n_out());
  for (int64_t batch : batches) {
    // Rounds in which every kernel runs once, interleaved; the best of the rounds for each.
    const int rounds = batch >= 1000000 ? reps : 4 * reps;
    std::vector<double> best(members.size() + ensembles.size(), 1e300), best_prob(prob_kernels.size(), 1e300);
    for (int round = 0; round < rounds; ++round) {
      for (std::size_t i = 0; i < prob_kernels.size(); ++i) {
        const int64_t stride = static_cast<int64_t>(members[i].module.n_out());
        best_prob[i] = std::min(best_prob[i], ns_per_row([&](int64_t n) {
          prob_kernels[i](x.data(), n, static_cast<int64_t>(n_in), ys[i].data(), stride);
        }, batch));
      }
      for (std::size_t i = 0; i < members.size(); ++i) {
        const int64_t stride = static_cast<int64_t>(members[i].module.n_out());
        best[i] = std::min(best[i], ns_per_row([&](int64_t n) {
          kernels[i](x.data(), n, static_cast<int64_t>(n_in), ys[i].data(), stride);
        }, batch));
      }
      for (std::size_t e = 0; e < ensembles.size(); ++e) {
        const int64_t stride = static_cast<int64_t>(ensembles[e].second.n_out());
        best[members.size() + e] = std::min(best[members.size() + e], ns_per_row([&](int64_t n) {
          ensemble_kernels[e](x.data(), n, static_cast<int64_t>(n_in), ey.data(), stride);
        }, batch));
      }
    }
    std::string each;
    double sum = 0;
    for (std::size_t i = 0; i < members.size(); ++i) {
      each += fmt::format("{}{:.1f}", each.empty() ? "" : ", ", best[i]);
      sum += best[i];
    }
    fmt::print("| {} | {} | {:.1f} |", batch, each, sum);
    if (classify) {
      double prob_sum = 0;
      for (double t : best_prob) prob_sum += t;
      fmt::print(" {:.1f} |", prob_sum);
    }
    for (std::size_t e = 0; e < ensembles.size(); ++e)
      fmt::print(" {:.1f} | {:.2f}x |", best[members.size() + e], best[members.size() + e] / sum);
    fmt::print("\n");
  }

  fmt::print("\nLink and compile time against K (mean; median of 5)\n\n");
  fmt::print("| K | member ops | ensemble ops | link_modules (ms) | JIT -O2 compile (ms) |\n|---:|---:|---:|---:|---:|\n");
  for (std::size_t k = 1; k <= members.size(); ++k) {
    const std::span<const passes::LinkMember> first(members.data(), k);
    std::vector<double> link_ms, compile_ms;
    ir::Module m;
    for (int rep = 0; rep < 5; ++rep) {
      auto start = Clock::now();
      m = passes::link_modules(first);
      link_ms.push_back(ms_since(start));
      start = Clock::now();
      codegen::JitKernel kernel = codegen::compile_jit(m);
      compile_ms.push_back(ms_since(start));
    }
    std::sort(link_ms.begin(), link_ms.end());
    std::sort(compile_ms.begin(), compile_ms.end());
    std::size_t in_members = 0;
    for (const passes::LinkMember& member : first) in_members += ops(member.module);
    fmt::print("| {} | {} | {} | {:.2f} | {:.2f} |\n", k, in_members, ops(m), link_ms[2], compile_ms[2]);
  }
  return 0;
}
