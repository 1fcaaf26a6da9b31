// Portable random numbers for the trainer: std::mt19937_64 is specified bit for bit by the
// standard, but std::*_distribution are not, so the draws the trainer makes (splits,
// initial weights, mutations) go through these helpers and are the same on every platform.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>

namespace evoc::trainer {

/// A seeded generator with the few distributions the trainer needs.
class Random {
 public:
  explicit Random(uint64_t seed = 1) : engine_(seed) {}
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform integer in [0, n); n > 0.
  uint64_t below(uint64_t n) { return engine_() % n; }
  /// Standard normal (Box-Muller, one draw per call).
  double normal() {
    double u = 1.0 - uniform();  // (0, 1]
    double v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * 3.14159265358979323846 * v);
  }
  /// The engine, for saving and restoring its state with << and >>.
  std::mt19937_64& engine() { return engine_; }
  const std::mt19937_64& engine() const { return engine_; }

 private:
  std::mt19937_64 engine_;
};

}  // namespace evoc::trainer
