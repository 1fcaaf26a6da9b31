// Checkpoints are validated whole before a run resumes from one: every corruption of state.json
// (wrong types, missing entries, counters out of range, a network whose topology or shapes do not
// hold, a garbage generator state) is `FILE: not a valid checkpoint: WHY`, with no JSON library or
// LibTorch text, and the run does not start.
#include <filesystem>
#include <fstream>
#include <functional>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "tests/trainer/test_util.h"
#include "trainer/trainer.h"

using namespace evoc;
using namespace evoc::trainer;

namespace {

Options small_options() {
  Options o;
  o.epochs = 4;
  o.max_ops = 8;
  o.grow = 2;
  o.pool = 8;
  o.checkpoint_every = 2;
  o.test_fraction = 0.15;
  return o;
}

/// The message of the evoc::Error `f` throws ("" if none).
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a corrupted checkpoint is refused whole, with one message naming the file and the reason") {
  const Dataset data = make_synthetic("xor", 300);
  Options o = small_options();
  o.checkpoint_dir = test::fresh_dir("corrupt");
  train(data, o);
  const std::string state = o.checkpoint_dir + "/state.json";
  const nlohmann::json good = nlohmann::json::parse(read_file(state));
  REQUIRE(!good["net"]["layers"][0]["ops"].empty());

  struct Edit {
    const char* name;
    std::function<void(nlohmann::json&)> edit;
    const char* why;
  };
  const std::vector<Edit> edits = {
      {"an array", [](nlohmann::json& j) { j = nlohmann::json::array({1, 2}); }, "the file holds an array"},
      {"a string for a number", [](nlohmann::json& j) { j["epoch"] = "4"; }, "epoch: is a string, expected an integer"},
      {"no fingerprint", [](nlohmann::json& j) { j.erase("fingerprint"); }, "fingerprint: is missing"},
      {"epoch overflow", [](nlohmann::json& j) { j["epoch"] = 2147483647; }, "epoch: 2147483647 is out of range"},
      {"negative epoch", [](nlohmann::json& j) { j["epoch"] = -100; }, "epoch: -100 is out of range"},
      {"best epoch after epoch", [](nlohmann::json& j) { j["best_epoch"] = 5; }, "best_epoch: 5 is out of range"},
      {"operand index", [](nlohmann::json& j) { j["net"]["layers"][0]["ops"][0][1] = {0, 99999}; },
       "net: layer 0 op 0 reads input 99999"},
      {"self reference", [](nlohmann::json& j) { j["net"]["layers"][0]["ops"][0][1] = {1, 0}; },
       "net: layer 0 op 0 reads itself"},
      {"wrong n_in", [](nlohmann::json& j) { j["net"]["layers"][0]["n_in"] = 3; }, "net: layer 0 reads 3 columns"},
      {"operand kind 7", [](nlohmann::json& j) { j["net"]["layers"][0]["ops"][0][1] = {7, 0}; },
       "net.layers[0].ops[0][1][0]: 7 is out of range [0, 2]"},
      {"unknown op", [](nlohmann::json& j) { j["net"]["layers"][0]["ops"][0][0] = "dot"; },
       "'dot' is not an evolved op kind"},
      {"garbage RNG state", [](nlohmann::json& j) { j["random"] = "hello"; }, "random: is not a random generator state"},
      {"short RNG state", [](nlohmann::json& j) { j["growth"] = "1 2 3"; }, "growth: is not a random generator state"},
      {"bits of a tensor", [](nlohmann::json& j) { j["best"]["layers"][0]["bias"]["value"]["bits"].push_back(0); },
       "best.layers[0].bias.value.bits: holds"},
      {"negative bits", [](nlohmann::json& j) { j["evolved"]["in_scale"]["bits"][0] = -1; }, "evolved.in_scale.bits[0]"},
      {"moment shape", [](nlohmann::json& j) { j["net"]["layers"][0]["bias"]["m"] = j["net"]["in_scale"]; },
       "bias (first moment) has shape"},
      {"missing linear model", [](nlohmann::json& j) { j.erase("linear_best"); }, "linear_best: is missing"},
      {"grown linear model", [](nlohmann::json& j) { j["linear"] = j["net"]; }, "linear: has ops"},
      {"features disagree", [](nlohmann::json& j) { j["best"]["in_scale"]["shape"] = {3}; }, "best.in_scale.bits"},
      {"negative loss", [](nlohmann::json& j) { j["best_val"] = -1.0; }, "best_val: -1 is not a loss"},
      {"version", [](nlohmann::json& j) { j["version"] = 2; }, "version: 2 (this evoc reads version 1)"},
  };
  Options resume = small_options();
  resume.epochs = 6;
  resume.resume_dir = o.checkpoint_dir;
  for (const Edit& e : edits) {
    CAPTURE(e.name);
    nlohmann::json j = good;
    e.edit(j);
    write_file_atomic(state, j.dump());
    const std::string expected = state + ": not a valid checkpoint: ";
    const std::string message = error_of([&] { train(data, resume); });
    CAPTURE(message);
    CHECK(message.find(expected) == 0);
    CHECK(message.find(e.why) != std::string::npos);
    CHECK(message.find("json.exception") == std::string::npos);
    CHECK(message.find("Exception raised from") == std::string::npos);
    // The loader for inference reads through the same validation.
    CHECK(error_of([&] { load_network(o.checkpoint_dir); }) == message);
  }
  write_file_atomic(state, "{\"version\": 1,");
  CHECK(error_of([&] { train(data, resume); }) == state + ": not a valid checkpoint: not JSON (syntax error at byte 15)");

  write_file_atomic(state, good.dump());
  CHECK(train(data, resume).summary.epochs == 6);
}

TEST_CASE("best.evir in a checkpoint carries the summary of the run so far") {
  const Dataset data = make_synthetic("interaction", 400);
  Options o = small_options();
  o.fallback_significance = -1;
  o.checkpoint_dir = test::fresh_dir("summary");
  const Result r = train(data, o);
  const ir::Module best = ir::read_module(o.checkpoint_dir + "/best.evir");
  CHECK(best.meta("trainer.epochs") == "4");
  CHECK(best.meta("trainer.ops") == std::to_string(r.summary.ops));
  CHECK(best.meta("trainer.best_epoch") == std::to_string(r.summary.best_epoch));
  CHECK(best.meta("trainer.test_r2") == r.module.meta("trainer.test_r2"));
  CHECK(best.meta("trainer.test_r2") != "0");
}
