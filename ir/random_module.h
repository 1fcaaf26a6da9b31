// A seeded generator of random modules: random DAGs over every op kind, for property tests,
// differential tests and fuzzing. Deterministic for a given seed on every platform.
#pragma once

#include <cstdint>
#include <vector>

#include "ir/module.h"
#include "ir/ops.h"

namespace evoc::ir {

/// A small, portable PRNG (splitmix64) with the helpers the generators need.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  /// Uniform integer in [0, n) (n > 0).
  uint64_t below(uint64_t n) { return next() % n; }
  /// Uniform float in [0, 1).
  float uniform() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }
  /// Uniform float in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  bool chance(float p) { return uniform() < p; }

 private:
  uint64_t state_;
};

/// Knobs of the random-module generator.
struct RandomModuleOptions {
  uint32_t n_in = 4;
  uint32_t n_out = 2;
  uint32_t n_values = 24;        ///< non-input values to generate
  uint32_t max_fanin = 6;        ///< operands of a dot, at most
  float depth_bias = 0.5f;       ///< 0: operands uniform over earlier values; 1: mostly the newest
  float const_chance = 0.08f;    ///< probability that a new value is a constant
  float special_chance = 0.05f;  ///< probability that an immediate is 0, -0, 1, Inf or NaN
  std::vector<Op> kinds;         ///< op kinds to draw from; empty means every non-leaf kind
};

/// A random, verified module. Outputs read random values (the last value always among them).
Module random_module(uint64_t seed, const RandomModuleOptions& options = {});

/// Random input rows for differential tests: `n * n_in` floats, a share of which are special
/// (NaN, +-Inf, +-0, subnormal, huge magnitudes) when `specials` is set.
std::vector<float> random_rows(uint64_t seed, std::size_t n, std::size_t n_in, bool specials = true);

/// True if a and b are the same float, or both NaN (NaN payloads are not compared).
bool same_float(float a, float b);

}  // namespace evoc::ir
