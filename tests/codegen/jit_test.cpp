// The JIT against the reference interpreter: the differential test over random modules (every
// op kind, NaN/Inf/-0/subnormal inputs, guard zones, strided rows, every remainder shape), plus
// hand-picked edge cases and the JIT's own behaviour (errors, timing, freeing, threads).
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "codegen/aot.h"
#include "codegen/jit.h"
#include "ir/liveness.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "passes/link.h"
#include "tests/codegen/kernel_check.h"
#include "tests/passes/differential.h"

namespace evoc {
namespace {

using codegen::CodegenOptions;
using codegen::compile_jit;

constexpr int64_t kBatches[] = {1, 3, 7, 8, 9, 64, 1000};

/// Options at LLVM level `level` with `width` lanes (0: the target's).
CodegenOptions at(int level, int width = 0) {
  CodegenOptions o;
  o.opt_level = level;
  o.vector_width = width;
  return o;
}

/// Random-module shapes cycling with the seed: small and wide, deep and shallow.
ir::RandomModuleOptions shape(uint64_t seed) {
  ir::RandomModuleOptions o;
  o.n_in = 1 + static_cast<uint32_t>(seed % 7);
  o.n_out = 1 + static_cast<uint32_t>(seed / 7 % 4);
  o.n_values = 6 + static_cast<uint32_t>(seed * 13 % 40);
  o.depth_bias = (seed % 3) * 0.4f;
  return o;
}

/// Compiles `m` with `options` and checks every batch size; on a difference, fails with the
/// smallest subgraph that shows it.
void check_module(const ir::Module& m, const CodegenOptions& options, const test::Reference& ref, uint64_t seed) {
  codegen::JitKernel k = compile_jit(m, options);
  for (int64_t n : kBatches) {
    const int64_t x_pad = static_cast<int64_t>((seed + n) % 4), y_pad = static_cast<int64_t>((seed * 3 + n) % 3);
    const std::string problem = test::check_batch(m, k.function(), ref, n, x_pad, y_pad);
    if (problem.empty()) continue;
    std::string shrunk;
    for (std::size_t o = 0; o < m.n_out() && shrunk.empty(); ++o) {
      ir::Module s = test::only_output(m, o);
      if (!test::check_batch(s, compile_jit(s, options).function(), test::reference(s, ref.rows, seed), n, x_pad,
                             y_pad)
               .empty())
        shrunk = ir::print_module(s);
    }
    FAIL("seed ", seed, " -O", options.opt_level, " width ", k.vector_width(), " batch ", n, ": ", problem,
         "\nmodule:\n", shrunk.empty() ? ir::print_module(m) : shrunk);
  }
}

TEST_CASE("JIT equals the interpreter bit for bit on 1000 random modules at -O0 and -O2 (the default)") {
  for (uint64_t seed = 1; seed <= 1000; ++seed) {
    const ir::Module m = ir::random_module(seed, shape(seed));
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int level : {0, 2}) check_module(m, at(level), ref, seed);
  }
}

TEST_CASE("JIT equals the interpreter bit for bit on linked ensembles (random members, random links)") {
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    const test::RandomEnsemble e = test::random_ensemble(seed);
    const ir::Module m = passes::link_modules(e.members, e.options);
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int level : {0, 2}) check_module(m, at(level), ref, seed);
  }
}

TEST_CASE("JIT equals the interpreter for every row width: each shape of row chunk and block, loaded and stored") {
  for (uint32_t columns = 1; columns <= 34; ++columns) {
    ir::RandomModuleOptions o;
    o.n_in = columns;
    o.n_out = columns;
    o.n_values = 2 * columns + 8;
    const uint64_t seed = 4000 + columns;
    const ir::Module m = ir::random_module(seed, o);
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int width : {0, 4, 8}) check_module(m, at(2, width), ref, seed);
  }
}

TEST_CASE("JIT equals the interpreter at every vector width, on baseline x86-64, at -O1 and -O3") {
  for (uint64_t seed = 2001; seed <= 2060; ++seed) {
    const ir::Module m = ir::random_module(seed, shape(seed));
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int width : {1, 2, 3, 4, 12, 16}) check_module(m, at(2, width), ref, seed);
    CodegenOptions baseline = at(2);
    baseline.cpu = "x86-64";  // SSE2 only: no floor instruction, 4 lanes
    check_module(m, baseline, ref, seed);
    for (int level : {1, 3}) check_module(m, at(level), ref, seed);
  }
}

TEST_CASE("JIT equals the interpreter on large modules of every op kind") {
  for (uint64_t seed = 3001; seed <= 3004; ++seed) {
    ir::RandomModuleOptions o;
    o.n_in = 40;
    o.n_out = 12;
    o.n_values = 1000;
    o.max_fanin = 16;
    const ir::Module m = ir::random_module(seed, o);
    check_module(m, at(2), test::reference(m, 1000, seed), seed);
  }
}

TEST_CASE("JIT equals the interpreter on huge kernels: hundreds of inputs or outputs, thousands of ops") {
  // From 256 columns (or 8,192 live ops) on, rows go through stack tiles and outputs are stored as
  // soon as computed (the shape that keeps compile time linear); widths 1, 8 and the target's.
  struct Shape {
    uint32_t n_in, n_out, n_values;
  };
  for (const Shape& shape : {Shape{8, 300, 700}, Shape{300, 4, 700}}) {
    ir::RandomModuleOptions o;
    o.n_in = shape.n_in;
    o.n_out = shape.n_out;
    o.n_values = shape.n_values;
    o.depth_bias = 0.2f;
    const uint64_t seed = 5000 + shape.n_values + shape.n_out;
    const ir::Module m = ir::random_module(seed, o);
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int width : {0, 1, 8}) check_module(m, at(2, width), ref, seed);
  }
}

/// A module of about `n_ops` live ops over 16 inputs: each value reads the one before it (so that
/// every value is live) and one drawn from the whole history (so that many values are read far
/// from where they are computed): dots (often under tanh), binary ops, bounded unary ops and
/// constants. Outputs read the last value and 7 others spread over the graph.
ir::Module long_module(std::size_t n_ops, uint64_t seed) {
  ir::Rng rng(seed);
  ir::Module m = ir::make_module("long" + std::to_string(n_ops), 16);
  ir::ValueId prev = 15;
  auto any = [&] { return static_cast<ir::ValueId>(rng.below(m.values.size())); };
  const ir::Op binaries[] = {ir::Op::Add, ir::Op::Sub, ir::Op::Mul, ir::Op::Min, ir::Op::Max, ir::Op::FillNan};
  const ir::Op unaries[] = {ir::Op::Tanh, ir::Op::Sigmoid, ir::Op::Relu, ir::Op::Abs, ir::Op::Neg, ir::Op::IsNan};
  while (m.values.size() - 16 < n_ops) {
    const float r = rng.uniform();
    ir::ValueId v;
    if (r < 0.4f) {
      const ir::ValueId args[] = {prev, any(), any()};
      const float weights[] = {rng.uniform(-0.6f, 0.6f), rng.uniform(-0.6f, 0.6f), rng.uniform(-0.6f, 0.6f)};
      v = ir::add_dot(m, args, weights, rng.uniform(-0.5f, 0.5f));
      if (rng.chance(0.5f)) v = ir::add_unary(m, ir::Op::Tanh, v);
    } else if (r < 0.65f) {
      v = ir::add_binary(m, binaries[rng.below(6)], prev, any());
    } else if (r < 0.75f) {
      v = ir::add_binary(m, ir::Op::Div, prev, ir::add_affine(m, ir::add_unary(m, ir::Op::Square, any()), 1.0f, 1.0f));
    } else if (r < 0.8f) {
      v = ir::add_binary(m, ir::Op::Mul, prev, ir::add_const(m, rng.uniform(-2, 2)));
    } else if (r < 0.85f) {
      v = ir::add_unary(m, ir::Op::Log, ir::add_affine(m, ir::add_unary(m, ir::Op::Abs, prev), 1.0f, 1.0f));
    } else {
      v = ir::add_unary(m, unaries[rng.below(6)], prev);
    }
    prev = v;
  }
  for (int o = 0; o < 7; ++o) ir::add_output(m, static_cast<ir::ValueId>(16 + rng.below(m.values.size() - 16)), "y" + std::to_string(o));
  ir::add_output(m, prev, "last");
  return m;
}

TEST_CASE("huge kernels compile in parts: many outputs or many ops, equal to the interpreter, rows scored in place") {
  // A huge kernel whose graph is larger than one part (lower.cpp: kPartWeight) is lowered as
  // several functions, which pass the values read across parts through a scratch tile of reused
  // slots; parts bound the size of what LLVM's superlinear passes see. Widths 1 (a row is a tile
  // of one lane), 8 and the target's.
  struct Case {
    ir::Module m;
    std::vector<int> widths;
  };
  ir::RandomModuleOptions wide;  // huge by its 300 outputs, operands drawn from far back
  wide.n_in = 8;
  wide.n_out = 300;
  wide.n_values = 2500;
  wide.depth_bias = 0.0f;
  Case cases[] = {{ir::random_module(7001, wide), {0, 1, 8}}, {long_module(9000, 7002), {0, 1}}};
  for (const Case& c : cases) {
    const ir::Module& m = c.m;
    const std::vector<bool> live = ir::live_values(m);
    const auto live_ops = static_cast<std::size_t>(std::count(live.begin() + static_cast<std::ptrdiff_t>(m.n_in()), live.end(), true));
    if (m.n_out() < 256) REQUIRE(live_ops >= 8192);  // huge by its ops alone
    const uint64_t seed = live_ops;
    const test::Reference ref = test::reference(m, 1000, seed);
    for (int width : c.widths) {
      CAPTURE(width);
      CAPTURE(m.name);
      const std::string llvm = codegen::emit_artifact(m, codegen::EmitKind::Llvm, at(2, width)).data;
      CHECK(llvm.find(".part1(") != std::string::npos);  // two parts or more
      const codegen::JitKernel k = compile_jit(m, at(2, width));
      for (int64_t n : kBatches) CHECK(test::check_batch(m, k.function(), ref, n, n % 3, n % 2) == "");
      // In place: each row's outputs overwrite its inputs.
      const std::size_t stride = std::max(m.n_in(), m.n_out()), rows = 37;
      std::vector<float> data(rows * stride, 0.0f);
      for (std::size_t r = 0; r < rows; ++r)
        std::copy_n(ref.x.begin() + static_cast<std::ptrdiff_t>(r * m.n_in()), m.n_in(),
                    data.begin() + static_cast<std::ptrdiff_t>(r * stride));
      k(data.data(), static_cast<int64_t>(rows), static_cast<int64_t>(stride), data.data(), static_cast<int64_t>(stride));
      std::size_t wrong = 0;
      for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < m.n_out(); ++o) wrong += !ir::same_float(data[r * stride + o], ref.y[r * m.n_out() + o]);
      CHECK(wrong == 0);
    }
  }
}

TEST_CASE("JIT equals the interpreter when transcendentals are outlined into helper functions") {
  for (std::size_t count : {47, 48, 100}) {  // around kOutlineThreshold (codegen/lower.cpp), and far above
    const ir::Module m = test::transcendental_module(count);
    const test::Reference ref = test::reference(m, 1000, count);
    for (int width : {1, 8, 16})
      for (int level : {0, 2}) check_module(m, at(level, width), ref, count);
  }
}

TEST_CASE("edge shapes: no rows, outputs that are inputs or constants, repeated outputs") {
  const ir::Module m = ir::parse_module(R"(evir 1
module "edges" inputs 2 outputs 5
input %0 "a"
input %1 "b"
%2 = const -0
%3 = div %0, %2
output %1 "b"
output %2 "minus_zero"
output %3 "a_over_minus_zero"
output %3 "again"
output %0 "a"
)");
  codegen::JitKernel k = compile_jit(m);
  float y[5] = {1, 2, 3, 4, 5};
  const float x[2] = {1, 2};
  k(x, 0, 2, y, 5);
  k(x, -3, 2, y, 5);
  CHECK(y[0] == 1);
  CHECK(y[4] == 5);
  const test::Reference ref = test::reference(m, 100, 7);
  for (int64_t n : kBatches)
    if (n <= 100) CHECK(test::check_batch(m, k.function(), ref, n, 1, 2) == "");
}

TEST_CASE("a module without outputs compiles to a kernel that writes nothing") {
  ir::Module m = ir::make_module("silent", 3);
  ir::add_unary(m, ir::Op::Exp, 0);
  codegen::JitKernel k = compile_jit(m);
  const float x[6] = {1, 2, 3, 4, 5, 6};
  float y = 42;
  k(x, 2, 3, &y, 0);
  CHECK(y == 42);
}

TEST_CASE("compile latency is reported per phase") {
  const ir::Module m = ir::random_module(5, shape(5));
  CodegenOptions o;
  o.time_passes = true;
  codegen::JitKernel k = compile_jit(m, o);
  const codegen::CompileTimes& t = k.times();
  CHECK(t.ir_generation_ms > 0);
  CHECK(t.optimization_ms > 0);
  CHECK(t.machine_code_ms > 0);
  CHECK(t.link_ms > 0);
  CHECK(t.format().find("LLVM optimisation") != std::string::npos);
  CHECK(t.pass_report.find("Pass execution timing report") != std::string::npos);
  CHECK(k.vector_width() >= 4);
  CHECK(k.symbol() == "evoc_random_5");
}

TEST_CASE("bad options are clear errors") {
  const ir::Module m = ir::random_module(6);
  CodegenOptions foreign, cpu, symbol;
  foreign.triple = "aarch64-linux-gnu";
  cpu.cpu = "pentium-9000";
  symbol.symbol = "not a name";
  CHECK_THROWS_WITH_AS(compile_jit(m, foreign), doctest::Contains("host only"), Error);
  CHECK_THROWS_WITH_AS(compile_jit(m, cpu), doctest::Contains("unknown CPU 'pentium-9000'"), Error);
  CHECK_THROWS_WITH_AS(compile_jit(m, symbol), doctest::Contains("not a C identifier"), Error);
  CHECK_THROWS_WITH_AS(compile_jit(m, at(7)), doctest::Contains("0..3"), Error);
  ir::Module broken = m;
  broken.outputs.push_back(9999);
  broken.output_names.push_back("dangling");
  CHECK_THROWS_AS(compile_jit(broken), Error);
}

TEST_CASE("kernels are independent: freeing one leaves the others working, threads compile at once") {
  std::vector<codegen::JitKernel> kernels;
  std::vector<ir::Module> modules;
  for (uint64_t seed = 10; seed < 40; ++seed) modules.push_back(ir::random_module(seed, shape(seed)));
  for (const auto& m : modules) kernels.push_back(compile_jit(m, at(1)));
  for (std::size_t i = 0; i < kernels.size(); i += 2) kernels[i] = compile_jit(modules[i + 1], at(0));
  for (std::size_t i = 1; i < kernels.size(); i += 2) {
    const auto ref = test::reference(modules[i], 64, i);
    CHECK(test::check_batch(modules[i], kernels[i].function(), ref, 64, 0, 0) == "");
    CHECK(test::check_batch(modules[i], kernels[i - 1].function(), ref, 64, 0, 0) == "");
  }
  std::vector<std::string> problems(2);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (uint64_t seed = 100 + t; seed < 140; seed += 2) {
        const ir::Module m = ir::random_module(seed, shape(seed));
        const std::string p = test::check_batch(m, compile_jit(m).function(), test::reference(m, 9, seed), 9, 1, 1);
        if (!p.empty()) problems[t] = p;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(problems[0] == "");
  CHECK(problems[1] == "");
}

TEST_CASE("fast-math kernels stay close to the interpreter on ordinary inputs") {
  ir::RandomModuleOptions o;
  o.kinds = {ir::Op::Add, ir::Op::Mul, ir::Op::Affine, ir::Op::Dot, ir::Op::Tanh};
  o.special_chance = 0;
  const ir::Module m = ir::random_module(77, o);
  CodegenOptions fast;
  fast.fast_math = true;
  codegen::JitKernel k = compile_jit(m, fast);
  const std::vector<float> x = ir::random_rows(77, 64, m.n_in(), false);
  std::vector<float> want(64 * m.n_out()), got(want.size());
  ir::interpret(m, x.data(), 64, static_cast<int64_t>(m.n_in()), want.data(), static_cast<int64_t>(m.n_out()));
  k(x.data(), 64, static_cast<int64_t>(m.n_in()), got.data(), static_cast<int64_t>(m.n_out()));
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-3));
}

}  // namespace
}  // namespace evoc
