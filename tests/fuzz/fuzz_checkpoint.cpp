// libFuzzer target: the checkpoint reader (trainer/checkpoint.h). Any bytes are read as a
// state.json. A rejection must be an evoc::Error that reads `FILE: not a valid checkpoint: WHY`
// and passes on no JSON library or LibTorch text; an accepted checkpoint must survive a round
// trip through checkpoint_to_json (the same JSON again), and the forward pass of each of its
// networks must run on a few rows (every index it takes was validated).
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "ir/error.h"
#include "trainer/checkpoint.h"

using namespace evoc;
using namespace evoc::trainer;

namespace {

/// A forward pass of `net` on three rows of zeros: it must not fail.
void run_forward(Network& net, const char* name) {
  try {
    torch::Tensor x = torch::zeros({3, net.in_scale.size(0)});
    torch::Tensor y = predict_raw(net, x);
    FUZZ_CHECK(y.size(0) == 3 && y.size(1) == net.layers.back().n_out, name << ": output shape");
  } catch (const std::exception& e) {
    FUZZ_FAIL("the forward pass of an accepted checkpoint's " << name << " failed: " << e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  static const bool once = [] {
    torch::set_num_threads(1);
    return true;
  }();
  (void)once;
  const std::string text(reinterpret_cast<const char*>(data), size);
  Checkpoint c;
  try {
    c = checkpoint_from_text(text, "fuzz.json", torch::kCPU);
  } catch (const Error& e) {
    const std::string message = e.what();
    FUZZ_CHECK(message.starts_with("fuzz.json: not a valid checkpoint: "), "unexpected message: " << message);
    FUZZ_CHECK(message.find("json.exception") == std::string::npos, "JSON library text: " << message);
    FUZZ_CHECK(message.find("Exception raised from") == std::string::npos, "LibTorch text: " << message);
    return 0;
  } catch (const std::exception& e) {
    FUZZ_FAIL("checkpoint_from_text threw something other than evoc::Error: " << e.what());
  }
  const std::string written = checkpoint_to_json(c).dump();
  Checkpoint again;
  try {
    again = checkpoint_from_text(written, "written.json", torch::kCPU);
  } catch (const Error& e) {
    FUZZ_FAIL("an accepted checkpoint, written again, is rejected: " << e.what());
  }
  FUZZ_CHECK(checkpoint_to_json(again).dump() == written, "the round trip changed the checkpoint");
  run_forward(c.run.net, "net");
  run_forward(c.run.best.net, "evolved");
  run_forward(c.output, "best");
  if (c.run.pending) run_forward(c.run.before, "before");
  if (c.run.has_linear) {
    run_forward(c.run.linear, "linear");
    run_forward(c.run.linear_best.net, "linear_best");
  }
  return 0;
}
