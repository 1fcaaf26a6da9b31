// The library's row runners (runtime/engine.h) and scoring (runtime/evaluate.h): the engines
// agree bit for bit, an ensemble's probabilities are scored as probabilities, and the
// permutation importance ranks the column a model reads above one it ignores.
#include <doctest/doctest.h>

#include <cmath>

#include "ir/error.h"
#include "ir/random_module.h"
#include "runtime/engine.h"
#include "runtime/evaluate.h"
#include "tests/runtime/test_util.h"

namespace evoc {
namespace {

TEST_CASE("engines: interp and jit give the same bits; an unknown name is an error") {
  const ir::Module m = ir::random_module(5, {.n_in = 3, .n_out = 2, .n_values = 24});
  const int64_t n = 300;
  const std::vector<float> x = ir::random_rows(7, n, m.n_in());
  std::vector<float> y(n * m.n_out());
  make_engine("jit", m)->run(x.data(), n, 3, y.data(), 2);
  CHECK(test::first_difference(y, test::interpret_rows(m, x, n)) == -1);
  CHECK_THROWS_WITH_AS(make_engine("fpga", m), doctest::Contains("unknown engine 'fpga'"), Error);
  // A module without inputs: empty rows, which the kernel reads from no buffer at all.
  ir::Module constant = ir::make_module("constant", 0);
  ir::add_output(constant, ir::add_const(constant, 2.5f), "c");
  std::vector<float> none, out(4);
  make_engine("jit", constant)->run(none.data(), 4, 0, out.data(), 1);
  CHECK(out == std::vector<float>(4, 2.5f));
}

TEST_CASE("score_classifier reads an ensemble's outputs as probabilities, a model's as logits") {
  ir::Module m = ir::make_module("p", 2);
  for (ir::ValueId i = 0; i < 2; ++i) ir::add_output(m, ir::add_affine(m, i, 1.0f, -0.0f), "p" + std::to_string(i));
  const std::vector<float> y = {0.2f, 0.8f, 0.9f, 0.1f};
  m.set_meta("outputs", "probabilities");
  const metrics::Classification p = score_classifier(m, {1, 0}, y);
  CHECK(p.accuracy == 1.0);
  CHECK(p.log_loss == doctest::Approx(-(std::log(0.8) + std::log(0.9)) / 2).epsilon(1e-6));
  m.set_meta("outputs", "");
  const metrics::Classification logits = score_classifier(m, {1, 0}, y);  // softmax of the same numbers
  CHECK(logits.accuracy == 1.0);
  CHECK(logits.log_loss == doctest::Approx(std::log(1 + std::exp(-0.6)) / 2 + std::log(1 + std::exp(-0.8)) / 2)
                               .epsilon(1e-5));
}

TEST_CASE("permutation importance: the column the model reads first, an ignored one exactly 0") {
  ir::Module m = ir::make_module("r", 2, {"signal", "noise"});
  ir::add_output(m, ir::add_affine(m, 0, 2.0f, 1.0f), "y");
  const std::size_t n = 200;
  const std::vector<float> x = ir::random_rows(3, n, 2, /*specials=*/false);
  Truth truth;
  for (std::size_t r = 0; r < n; ++r) truth.values.push_back(2.0 * x[r * 2] + 1.0);
  const auto engine = make_engine("interp", m);
  const Importance importance = permutation_importance(m, *engine, x, truth, 3);
  CHECK(importance.base_primary == doctest::Approx(1.0));  // R^2 of a perfect fit
  CHECK(importance.base_secondary == doctest::Approx(0.0));
  REQUIRE(importance.columns.size() == 2);
  CHECK(importance.columns[0].input == 0);
  CHECK(importance.columns[0].primary > 0.5);   // R^2 drops
  CHECK(importance.columns[0].secondary > 0.0);  // RMSE rises
  CHECK(importance.columns[1].input == 1);
  CHECK(importance.columns[1].primary == 0.0);
  CHECK(importance.columns[1].secondary == 0.0);
}

}  // namespace
}  // namespace evoc
