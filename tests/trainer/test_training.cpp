// Training end to end: the exported module computes what the LibTorch network computes (every
// normalisation, 1 and 2 layers), runs are bit-reproducible, growth learns an interaction a
// linear model cannot, the output falls back to the run's linear model unless the evolved one
// is better, and a resumed run continues exactly.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <random>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include "ir/error.h"
#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "tests/trainer/test_util.h"
#include "trainer/trainer.h"

using namespace evoc;
using namespace evoc::trainer;

namespace {

Options quick_options() {
  Options o;
  o.epochs = 12;
  o.max_ops = 24;
  o.grow = 3;
  o.pool = 16;
  o.threads = 1;
  o.fallback_significance = -1;  // these tests are about the evolved network
  o.test_fraction = 0.15;        // and measure it on held-out rows
  return o;
}

/// Largest |torch - interpreter| / max(1, |interpreter|) over the test rows and outputs.
double export_error(const Dataset& data, const Result& r) {
  std::vector<float> x = data.feature_rows(r.split.test);
  auto n = static_cast<int64_t>(r.split.test.size());
  std::vector<float> expected = r.network->predict(x.data(), n);
  std::vector<float> actual(expected.size());
  const auto n_out = static_cast<int64_t>(r.module.n_out());
  ir::interpret(r.module, x.data(), n, static_cast<int64_t>(data.n_features()), actual.data(), n_out);
  double worst = 0;
  for (std::size_t i = 0; i < actual.size(); ++i)
    worst = std::max(worst, std::fabs(double(expected[i]) - actual[i]) / std::max(1.0, std::fabs(double(actual[i]))));
  return worst;
}

}  // namespace

TEST_CASE("export is exact: LibTorch eval forward vs the interpreter") {
  Dataset regress = make_synthetic("interaction", 600);
  Dataset classify = make_synthetic("xor", 600);
  double worst = 0;
  for (Norm norm : {Norm::Batch, Norm::L2Batch, Norm::None}) {
    for (int layers : {1, 2}) {
      for (const Dataset* data : {&regress, &classify}) {
        Options o = quick_options();
        o.norm = norm;
        o.layers = layers;
        o.width = 4;
        o.ops = parse_op_kinds("add,sub,mul,min,max,neg,abs,relu,tanh,sigmoid,square");
        o.prune_below = 0;
        o.min_gain = 0;
        o.significance = 0;
        Result r = train(*data, o);
        CAPTURE(norm_name(norm));
        CAPTURE(layers);
        CAPTURE(data->name);
        CHECK(ir::verify_module(r.module).empty());
        CHECK(r.summary.ops > 0);
        double error = export_error(*data, r);
        CHECK(error <= 1e-5);
        worst = std::max(worst, error);
      }
    }
  }
  MESSAGE(fmt::format("largest relative error over every configuration: {:.3g}", worst));
}

TEST_CASE("same seed, same model bit for bit; another seed, another model") {
  Dataset data = make_synthetic("interaction", 600);
  Options o = quick_options();
  std::string a = ir::print_module(train(data, o).module);
  std::string b = ir::print_module(train(data, o).module);
  CHECK(a == b);
  o.seed = 2;
  CHECK(ir::print_module(train(data, o).module) != a);
}

TEST_CASE("an ensemble's member on small data is refitted on every row of its split") {
  // A member trains on its split (an ensemble's fold layout); the chosen model is then refitted
  // on the split's training and validation rows, as a run alone is: --no-refit's differs.
  Dataset data = make_synthetic("interaction", 400);
  const std::vector<Split> splits = ensemble_splits(data.rows(), 1, 3, 0.2, 0.15);
  Options o = quick_options();
  o.fallback_significance = Options{}.fallback_significance;
  o.min_gain = 0;
  o.significance = 0;
  o.split = splits[1];
  const Result refitted = train(data, o);
  CHECK(refitted.summary.fallback.starts_with("the evolved network (5-fold cross-validation"));
  o.refit = false;
  const Result as_trained = train(data, o);
  CHECK(refitted.summary.ops == as_trained.summary.ops);
  CHECK(ir::print_module(refitted.module) != ir::print_module(as_trained.module));
  CHECK(refitted.summary.test_metric > 0.95);
}

TEST_CASE("a given split and statistics rows: the run's rows, and one standardisation for runs of other seeds") {
  Dataset data = make_synthetic("interaction", 300);
  const std::vector<Split> splits = ensemble_splits(data.rows(), 3, 2, 0.15, 0.15);
  std::vector<uint32_t> all = splits[0].train;
  all.insert(all.end(), splits[0].validation.begin(), splits[0].validation.end());
  std::vector<std::string> affines;
  for (int i = 0; i < 2; ++i) {
    Options o = quick_options();
    o.epochs = 2;
    o.seed = 10 + static_cast<uint64_t>(i);
    o.split = splits[static_cast<std::size_t>(i)];
    o.statistics_rows = all;
    const Result r = train(data, o);
    CHECK(r.split.train == splits[static_cast<std::size_t>(i)].train);
    CHECK(r.split.validation == splits[static_cast<std::size_t>(i)].validation);
    CHECK(r.summary.test_rows == splits[0].test.size());
    // The standardisation: the affine of every input, the same constants in both runs.
    std::string text;
    for (const ir::Value& v : r.module.values)
      if (v.op == ir::Op::Affine && v.args[0] < r.module.n_in())
        text += fmt::format("{} {} {};", v.args[0], v.imms[0], v.imms[1]);
    affines.push_back(text);
  }
  CHECK(std::count(affines[0].begin(), affines[0].end(), ';') == 5);
  CHECK(affines[0] == affines[1]);

  Options bad = quick_options();
  bad.split = splits[0];
  bad.split->validation.push_back(300);
  CHECK_THROWS_WITH_AS(train(data, bad),
                       "interaction: validation row 300 of the given split is past the last row (300)", evoc::Error);
}

TEST_CASE("growth learns x0*x1 + x2, a linear model cannot") {
  Dataset data = make_synthetic("interaction", 2000);
  Options o;
  o.epochs = 30;
  o.threads = 1;
  o.test_fraction = 0.15;
  Result evolved = train(data, o);
  o.max_ops = 0;
  Result linear = train(data, o);
  MESSAGE(fmt::format("test R^2: evolved {:.4f} with {} ops, linear {:.4f}", evolved.summary.test_metric,
                      evolved.summary.ops, linear.summary.test_metric));
  CHECK(evolved.summary.test_metric >= 0.95);
  CHECK(linear.summary.test_metric < 0.6);
  CHECK(linear.summary.ops == 0);
}

TEST_CASE("the output is the run's own linear model unless the evolved network beats it") {
  Dataset data = make_synthetic("interaction", 600);
  Options o = quick_options();
  o.fallback_significance = 1e9f;  // no evolved network can pass
  Result fallback = train(data, o);
  o.max_ops = 0;
  Result linear = train(data, o);
  CHECK(fallback.summary.ops == 0);
  // The linear model trained alongside the evolution is the one --max-ops 0 trains, bit for bit.
  std::vector<float> x = data.feature_rows(linear.split.test);
  const auto n = static_cast<int64_t>(linear.split.test.size());
  std::vector<float> a(n), b(n);
  ir::interpret(fallback.module, x.data(), n, static_cast<int64_t>(data.n_features()), a.data(), 1);
  ir::interpret(linear.module, x.data(), n, static_cast<int64_t>(data.n_features()), b.data(), 1);
  CHECK(a == b);
  CHECK(fallback.summary.test_metric == linear.summary.test_metric);
  // Where the interaction matters, the evolved network passes the test and is the output.
  o = quick_options();
  o.fallback_significance = Options{}.fallback_significance;
  CHECK(train(data, o).summary.ops > 0);
}

TEST_CASE("on small data the fallback is cross-validated over every training and validation row") {
  // Grown freely (every mutation accepted), so that there is always a grown network to judge.
  Options o = quick_options();
  o.fallback_significance = Options{}.fallback_significance;
  o.min_gain = 0;
  o.significance = 0;
  Dataset interaction = make_synthetic("interaction", 400);
  Result kept = train(interaction, o);
  MESSAGE(kept.summary.fallback);
  CHECK(kept.summary.ops > 0);
  CHECK(kept.summary.fallback.starts_with("the evolved network (5-fold cross-validation: evolved R^2 "));
  CHECK(kept.module.meta("trainer.fallback") == kept.summary.fallback);
  // ... and then retrained on every training and validation row: the same topology, other
  // weights than --no-refit's, as good on the held-out rows.
  o.refit = false;
  Result as_trained = train(interaction, o);
  MESSAGE("test R^2: refitted ", kept.summary.test_metric, ", as trained ", as_trained.summary.test_metric);
  CHECK(as_trained.summary.ops == kept.summary.ops);
  CHECK(ir::print_module(as_trained.module) != ir::print_module(kept.module));
  CHECK(kept.summary.test_metric > 0.95);
  CHECK(as_trained.summary.test_metric > 0.95);
  o.refit = true;

  // A linear target plus noise: the output is the linear model.
  Dataset linear = interaction;
  std::mt19937 noise(7);
  std::normal_distribution<float> normal;
  for (std::size_t r = 0; r < linear.rows(); ++r)
    linear.target[r] = linear.features[r * 5] - 0.5f * linear.features[r * 5 + 3] + normal(noise);
  Result rejected = train(linear, o);
  MESSAGE(rejected.summary.fallback);
  CHECK(rejected.summary.ops == 0);
  CHECK(rejected.summary.fallback.starts_with("the linear model ("));
  // A bar no network can pass: the cross-validated verdict outputs the linear model.
  o.fallback_significance = 1e9f;
  Result barred = train(interaction, o);
  CHECK(barred.summary.ops == 0);
  CHECK(barred.summary.fallback.starts_with("the linear model (5-fold cross-validation: evolved R^2 0.9"));
  o.fallback_significance = Options{}.fallback_significance;

  // From kCrossValidationRows rows on, the validation rows decide.
  Dataset big = make_synthetic("interaction", 2600);
  o.epochs = 4;
  CHECK(train(big, o).summary.fallback.find("(validation: ") != std::string::npos);
  // The fallback off: nothing to decide, nothing said.
  o.fallback_significance = -1;
  CHECK(train(interaction, o).summary.fallback.empty());
}

TEST_CASE("a resumed run continues exactly") {
  Dataset data = make_synthetic("xor", 600);
  Options o = quick_options();
  o.epochs = 10;
  std::string straight = ir::print_module(train(data, o).module);

  Options first = o;
  first.epochs = 6;
  first.checkpoint_dir = test::fresh_dir("resume");
  first.checkpoint_every = 3;
  train(data, first);
  CHECK(std::filesystem::exists(first.checkpoint_dir + "/state.json"));
  CHECK(std::filesystem::exists(first.checkpoint_dir + "/best.evir"));

  Options second = o;
  second.resume_dir = first.checkpoint_dir;
  CHECK(ir::print_module(train(data, second).module) == straight);

  Options other = second;
  other.lr = 0.5f;
  CHECK_THROWS_WITH_AS(train(data, other), doctest::Contains("other options"), evoc::Error);
}

TEST_CASE("--device cuda fails cleanly without CUDA") {
  Options o = quick_options();
  o.device = "cuda";
  Dataset data = make_synthetic("xor", 100);
  try {
    train(data, o);
  } catch (const evoc::Error& e) {
    CHECK(std::string(e.what()).find("cuda") != std::string::npos);
  }
}
