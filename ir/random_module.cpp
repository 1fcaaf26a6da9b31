// The seeded random-module generator and random rows for differential tests.
#include "ir/random_module.h"

#include <bit>
#include <cmath>
#include <limits>

#include "ir/verifier.h"

namespace evoc::ir {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

namespace {

constexpr float kSpecials[] = {0.0f,
                               -0.0f,
                               1.0f,
                               -1.0f,
                               0.5f,
                               2.0f,
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::quiet_NaN()};

float random_immediate(Rng& rng, const RandomModuleOptions& o) {
  if (rng.chance(o.special_chance)) return kSpecials[rng.below(std::size(kSpecials))];
  return rng.uniform(-2.0f, 2.0f);
}

ValueId random_operand(Rng& rng, const RandomModuleOptions& o, std::size_t defined) {
  if (defined > 4 && rng.chance(o.depth_bias)) return static_cast<ValueId>(defined - 1 - rng.below(4));
  return static_cast<ValueId>(rng.below(defined));
}

std::vector<Op> default_kinds() {
  std::vector<Op> kinds;
  for (int k = 0; k < kNumOps; ++k)
    if (!is_leaf(static_cast<Op>(k))) kinds.push_back(static_cast<Op>(k));
  return kinds;
}

}  // namespace

Module random_module(uint64_t seed, const RandomModuleOptions& o) {
  Rng rng(seed);
  Module m = make_module("random_" + std::to_string(seed), std::max<uint32_t>(o.n_in, 1));
  const std::vector<Op> kinds = o.kinds.empty() ? default_kinds() : o.kinds;
  for (uint32_t i = 0; i < o.n_values; ++i) {
    const std::size_t defined = m.values.size();
    if (rng.chance(o.const_chance)) {
      add_const(m, random_immediate(rng, o));
      continue;
    }
    const Op op = kinds[rng.below(kinds.size())];
    Value v{op, {}, {}};
    if (op == Op::Dot) {
      const uint64_t fanin = rng.below(o.max_fanin + 1);
      for (uint64_t t = 0; t < fanin; ++t) {
        v.args.push_back(random_operand(rng, o, defined));
        v.imms.push_back(rng.chance(0.15f) ? 0.0f : random_immediate(rng, o));
      }
      v.imms.push_back(random_immediate(rng, o));
    } else {
      for (int a = 0; a < op_info(op).arity; ++a) v.args.push_back(random_operand(rng, o, defined));
      if (op == Op::Affine) {
        v.imms.push_back(random_immediate(rng, o));
        v.imms.push_back(random_immediate(rng, o));
      }
    }
    add_value(m, std::move(v));
  }
  const ValueId last = static_cast<ValueId>(m.values.size() - 1);
  for (uint32_t k = 0; k < std::max<uint32_t>(o.n_out, 1); ++k)
    add_output(m, k == 0 ? last : static_cast<ValueId>(rng.below(m.values.size())), "y" + std::to_string(k));
  verify_or_throw(m, "random_module");
  return m;
}

std::vector<float> random_rows(uint64_t seed, std::size_t n, std::size_t n_in, bool specials) {
  static constexpr float kSpecialInputs[] = {std::numeric_limits<float>::quiet_NaN(),
                                             std::numeric_limits<float>::infinity(),
                                             -std::numeric_limits<float>::infinity(),
                                             0.0f,
                                             -0.0f,
                                             1e-40f,
                                             -1e-40f,
                                             1e30f,
                                             -1e30f,
                                             88.5f,
                                             -104.0f,
                                             1.0f};
  Rng rng(seed ^ 0x5eedf00dull);
  std::vector<float> rows(n * n_in);
  for (float& v : rows) {
    if (specials && rng.chance(0.08f))
      v = kSpecialInputs[rng.below(std::size(kSpecialInputs))];
    else
      v = rng.uniform(-3.0f, 3.0f);
  }
  return rows;
}

bool same_float(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

}  // namespace evoc::ir
