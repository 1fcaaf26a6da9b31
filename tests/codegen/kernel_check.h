// Differential checking of a compiled kernel against the reference interpreter, shared by the
// JIT and AOT suites. The kernel runs on strided rows placed right before an inaccessible page
// (an over-read faults), into an output buffer whose guard zones and stride gaps are filled with
// a canary pattern that must survive (and whose end also touches an inaccessible page).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "codegen/options.h"
#include "ir/interpreter.h"
#include "ir/module.h"
#include "ir/printer.h"
#include "ir/random_module.h"

namespace evoc::test {

/// Floats in memory that ends exactly at an inaccessible page, so that touching anything past
/// the last float faults.
class FencedFloats {
 public:
  explicit FencedFloats(std::size_t count) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = (count * sizeof(float) + page - 1) / page * page;
    size_ = bytes + page;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(p);
    mprotect(base_ + bytes, page, PROT_NONE);
    data_ = reinterpret_cast<float*>(base_ + bytes) - count;
  }
  ~FencedFloats() { munmap(base_, size_); }
  FencedFloats(const FencedFloats&) = delete;
  FencedFloats& operator=(const FencedFloats&) = delete;
  float* data() { return data_; }

 private:
  char* base_ = nullptr;
  std::size_t size_ = 0;
  float* data_ = nullptr;
};

/// A NaN with a payload no kernel produces: marks bytes the kernel must not write.
inline const uint32_t kCanary = 0x7fbadbadu;
inline float canary() { return std::bit_cast<float>(kCanary); }

/// Rows and the interpreter's outputs for them, dense (stride n_in / n_out).
struct Reference {
  std::vector<float> x, y;
  std::size_t rows = 0;
};

inline Reference reference(const ir::Module& m, std::size_t rows, uint64_t seed) {
  Reference r{ir::random_rows(seed, rows, m.n_in(), true), std::vector<float>(rows * m.n_out()), rows};
  ir::interpret(m, r.x.data(), static_cast<int64_t>(rows), static_cast<int64_t>(m.n_in()), r.y.data(),
                static_cast<int64_t>(m.n_out()));
  return r;
}

/// Runs `kernel` on the first `n` reference rows with strides n_in + x_pad and n_out + y_pad and
/// returns a description of the first difference (empty if none).
inline std::string check_batch(const ir::Module& m, codegen::KernelFn kernel, const Reference& ref, int64_t n,
                               int64_t x_pad, int64_t y_pad) {
  const int64_t n_in = static_cast<int64_t>(m.n_in()), n_out = static_cast<int64_t>(m.n_out());
  const int64_t xs = n_in + x_pad, ys = n_out + y_pad;
  constexpr int64_t kGuard = 64;
  const int64_t x_count = n > 0 ? (n - 1) * xs + n_in : 0;
  const int64_t y_count = n > 0 ? (n - 1) * ys + n_out : 0;
  FencedFloats x(static_cast<std::size_t>(x_count) + 1), y(static_cast<std::size_t>(y_count + kGuard));
  float* xp = x.data() + 1;
  float* guard = y.data();
  float* yp = guard + kGuard;
  for (int64_t i = 0; i < x_count; ++i) xp[i] = canary();
  for (int64_t i = 0; i < kGuard + y_count; ++i) guard[i] = canary();
  for (int64_t r = 0; r < n; ++r)
    std::memcpy(xp + r * xs, ref.x.data() + r * n_in, static_cast<std::size_t>(n_in) * sizeof(float));
  kernel(xp, n, xs, yp, ys);
  for (int64_t i = 0; i < kGuard; ++i)
    if (std::bit_cast<uint32_t>(guard[i]) != kCanary) return fmt::format("guard zone before y overwritten at -{}", kGuard - i);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t o = 0; o < n_out; ++o) {
      const float got = yp[r * ys + o], want = ref.y[r * n_out + o];
      if (!ir::same_float(got, want)) {
        std::string inputs;
        for (int64_t i = 0; i < n_in; ++i) inputs += ir::format_float(ref.x[r * n_in + i]) + " ";
        return fmt::format("row {} output {}: kernel {} ({:#010x}), interpreter {} ({:#010x}); inputs {}", r, o,
                           ir::format_float(got), std::bit_cast<uint32_t>(got), ir::format_float(want),
                           std::bit_cast<uint32_t>(want), inputs);
      }
    }
    if (r + 1 < n)
      for (int64_t g = n_out; g < ys; ++g)
        if (std::bit_cast<uint32_t>(yp[r * ys + g]) != kCanary) return fmt::format("stride gap of row {} overwritten", r);
  }
  return {};
}

/// A module with `count` live transcendental ops (exp, log, tanh, sigmoid in turn, each of an
/// affine of an input), all read by one dot; enough of them makes the code generator outline
/// each kind into a helper function.
inline ir::Module transcendental_module(std::size_t count) {
  ir::Module m = ir::make_module("transcendental", 4);
  const ir::Op kinds[] = {ir::Op::Exp, ir::Op::Log, ir::Op::Tanh, ir::Op::Sigmoid};
  std::vector<ir::ValueId> terms;
  std::vector<float> weights;
  for (std::size_t i = 0; i < count; ++i) {
    const ir::ValueId a = ir::add_affine(m, static_cast<ir::ValueId>(i % 4), 0.25f + 0.125f * static_cast<float>(i % 7),
                                         static_cast<float>(i % 5) - 2.0f);
    terms.push_back(ir::add_unary(m, kinds[i % 4], a));
    weights.push_back(static_cast<float>(i % 3) - 1.0f + 0.5f);
  }
  ir::add_output(m, ir::add_dot(m, terms, weights, 0.25f), "sum");
  ir::add_output(m, ir::add_binary(m, ir::Op::Max, terms[0], terms[count - 1]), "max");
  return m;
}

/// `m` restricted to its output `o` and what that output depends on: the smallest subgraph
/// showing a difference in that output.
inline ir::Module only_output(const ir::Module& m, std::size_t o) {
  ir::Module s = m;
  s.outputs = {m.outputs[o]};
  s.output_names = {m.output_names[o]};
  std::vector<bool> keep(s.values.size(), false);
  keep[s.outputs[0]] = true;
  for (std::size_t id = s.values.size(); id-- > 0;)
    if (keep[id])
      for (ir::ValueId a : s.values[id].args) keep[a] = true;
  ir::compact(s, keep);
  return s;
}

}  // namespace evoc::test
