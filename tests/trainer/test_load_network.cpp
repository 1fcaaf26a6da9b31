// load_network: the best network of a checkpoint, rebuilt for inference, predicts bit for bit
// what the run's own network predicts, matches the exported module's interpreter within the
// export tolerance, and was the source of the checkpoint's best.evir; a missing, corrupt or
// inconsistent checkpoint is a clear error.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/random_module.h"
#include "tests/trainer/test_util.h"
#include "trainer/trainer.h"

using namespace evoc;
using namespace evoc::trainer;

namespace {

/// A short run that checkpoints into `dir` (the last epoch always checkpoints).
Result train_with_checkpoint(const Dataset& data, const std::string& dir, Norm norm, int layers) {
  Options o;
  o.epochs = 8;
  o.max_ops = 24;
  o.grow = 3;
  o.pool = 16;
  o.threads = 1;
  o.norm = norm;
  o.layers = layers;
  o.width = 4;
  o.ops = parse_op_kinds("add,sub,mul,min,max,neg,abs,relu,tanh,sigmoid,square");
  o.prune_below = 0;
  o.min_gain = 0;
  o.significance = 0;
  o.fallback_significance = -1;
  o.checkpoint_dir = dir;
  o.checkpoint_every = 3;
  o.test_fraction = 0.15;
  return train(data, o);
}

/// Largest |a - b| / max(1, |b|).
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(double(a[i]) - b[i]) / std::max(1.0, std::fabs(double(b[i]))));
  return worst;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!ir::same_float(a[i], b[i])) return false;
  return true;
}

/// The module without its metadata (which records the run's progress when it was written).
ir::Module function_of(ir::Module m) {
  m.metadata.clear();
  return m;
}

/// Writes `text` as the checkpoint's state.json.
void write_state(const std::string& dir, const std::string& text) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/state.json") << text;
}

}  // namespace

TEST_CASE("a loaded checkpoint predicts what the run's network and the exported module predict") {
  Dataset regress = make_synthetic("interaction", 600);
  Dataset classify = make_synthetic("xor", 600);
  double worst = 0;
  for (Norm norm : {Norm::Batch, Norm::L2Batch, Norm::None}) {
    for (int layers : {1, 2}) {
      for (const Dataset* data : {&regress, &classify}) {
        CAPTURE(norm_name(norm));
        CAPTURE(layers);
        CAPTURE(data->name);
        const std::string dir = test::fresh_dir("exact");
        const Result r = train_with_checkpoint(*data, dir, norm, layers);
        const auto loaded = load_network(dir);
        CHECK(loaded->n_features() == static_cast<int64_t>(data->n_features()));
        CHECK(loaded->n_outputs() == static_cast<int64_t>(r.module.n_out()));
        CHECK(loaded->ops() == r.summary.ops);
        CHECK(function_of(ir::read_module(dir + "/best.evir")) == function_of(r.module));

        // The held-out rows and random rows far outside the training range.
        for (const bool test_rows : {true, false}) {
          const auto n = static_cast<int64_t>(test_rows ? r.split.test.size() : 500);
          const std::vector<float> x =
              test_rows ? data->feature_rows(r.split.test) : ir::random_rows(7, n, data->n_features(), false);
          const std::vector<float> expected = r.network->predict(x.data(), n);
          std::vector<float> into(expected.size());
          loaded->predict(x.data(), n, into.data());
          CHECK(same_bits(loaded->predict(x.data(), n), expected));
          CHECK(same_bits(into, expected));
          std::vector<float> interpreted(expected.size());
          ir::interpret(r.module, x.data(), n, static_cast<int64_t>(data->n_features()), interpreted.data(),
                        static_cast<int64_t>(r.module.n_out()));
          const double error = relative_error(into, interpreted);
          CHECK(error <= 1e-5);
          worst = std::max(worst, error);
        }
      }
    }
  }
  MESSAGE(fmt::format("largest relative error, loaded network vs interpreter: {:.3g}", worst));
}

TEST_CASE("a missing, corrupt or inconsistent checkpoint is a clear error") {
  CHECK_THROWS_WITH_AS(load_network(test::fresh_dir("absent")), doctest::Contains("no such checkpoint directory"),
                       evoc::Error);

  const std::string empty = test::fresh_dir("empty");
  std::filesystem::create_directories(empty);
  CHECK_THROWS_WITH_AS(load_network(empty), doctest::Contains("is not a checkpoint"), evoc::Error);

  const std::string truncated = test::fresh_dir("truncated");
  write_state(truncated, R"({"version": 1, "best": {"norm": "batch")");
  CHECK_THROWS_WITH_AS(load_network(truncated), doctest::Contains("state.json: not a valid checkpoint"),
                       evoc::Error);

  const std::string future = test::fresh_dir("future");
  write_state(future, R"({"version": 2})");
  CHECK_THROWS_WITH_AS(load_network(future), doctest::Contains("version: 2"), evoc::Error);

  // A real checkpoint, edited: a key removed, a tensor of the wrong size, an operand out of range.
  const std::string dir = test::fresh_dir("edited");
  train_with_checkpoint(make_synthetic("xor", 300), dir, Norm::Batch, 1);
  const nlohmann::json good = nlohmann::json::parse(read_file(dir + "/state.json"));
  REQUIRE(!good["best"]["layers"][0]["ops"].empty());

  nlohmann::json j = good;
  j.erase("best");
  write_state(dir, j.dump());
  CHECK_THROWS_WITH_AS(load_network(dir), doctest::Contains("not a valid checkpoint"), evoc::Error);

  j = good;
  j["best"]["layers"][0]["bias"]["value"]["bits"].push_back(0);
  write_state(dir, j.dump());
  CHECK_THROWS_WITH_AS(load_network(dir), doctest::Contains("not a valid checkpoint"), evoc::Error);

  j = good;
  j["best"]["layers"][0]["bias"]["value"] = j["best"]["layers"][0]["scalars"]["value"];
  write_state(dir, j.dump());
  CHECK_THROWS_WITH_AS(load_network(dir), doctest::Contains("layer 0 "), evoc::Error);

  j = good;
  j["best"]["layers"][0]["ops"][0][1] = nlohmann::json::array({0, 1000});  // input column 1000
  write_state(dir, j.dump());
  CHECK_THROWS_WITH_AS(load_network(dir), doctest::Contains("reads input 1000"), evoc::Error);

  write_state(dir, good.dump());
  CHECK(load_network(dir)->ops() > 0);
}
