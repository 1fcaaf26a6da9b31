// Golden tests: each tests/passes/golden/NAME.evir starts with a `; RUN:` line naming a pipeline
// (`--passes=a,b`, or `-O1`/`-O2`, plus `--fast-math`, `--weight-threshold=T`); the test runs it
// with verification after every pass and compares the printed result with NAME.expected.
// EVOC_UPDATE_GOLDEN=1 rewrites the .expected files instead (review the diff before keeping it).
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "passes/registry.h"

namespace {

namespace fs = std::filesystem;
using namespace evoc;

fs::path golden_dir() { return fs::path(EVOC_TESTS_DIR) / "passes" / "golden"; }

std::vector<fs::path> golden_inputs() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(golden_dir()))
    if (e.path().extension() == ".evir") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// The pipeline and options of a `; RUN:` line.
struct RunLine {
  std::string pipeline;
  passes::PassOptions options;
};

RunLine parse_run_line(const std::string& text, const std::string& file) {
  const std::string prefix = "; RUN:";
  if (text.rfind(prefix, 0) != 0) throw Error(file + ":1: error: the first line must be '; RUN: ...'");
  RunLine run;
  std::istringstream words(text.substr(prefix.size()));
  std::string level;
  for (std::string w; words >> w;) {
    if (w.rfind("--passes=", 0) == 0) run.pipeline = w.substr(9);
    else if (w == "-O0" || w == "-O1" || w == "-O2" || w == "-O3") level = w;
    else if (w == "--fast-math") run.options.fast_math = true;
    else if (w.rfind("--weight-threshold=", 0) == 0) run.options.weight_threshold = std::stof(w.substr(19));
    else throw Error(file + ":1: error: unknown RUN option '" + w + "'");
  }
  if (!level.empty())
    run.pipeline = passes::level_pipeline(static_cast<passes::OptLevel>(level[2] - '0'), run.options);
  return run;
}

// Pass names a pipeline mentions, groups included.
void collect_names(const std::vector<passes::PipelineStep>& steps, std::set<std::string>& names) {
  for (const auto& s : steps) {
    if (s.entry) names.insert(s.name);
    collect_names(s.body, names);
  }
}

}  // namespace

TEST_CASE("golden pipelines") {
  const bool update = std::getenv("EVOC_UPDATE_GOLDEN") != nullptr;
  std::set<std::string> covered;
  const auto inputs = golden_inputs();
  REQUIRE(!inputs.empty());
  for (const fs::path& input : inputs) {
    CAPTURE(input.filename().string());
    const std::string text = read_file(input.string());
    const RunLine run = parse_run_line(text.substr(0, text.find('\n')), input.string());
    collect_names(passes::parse_pipeline(run.pipeline), covered);
    ir::Module m = ir::parse_module(text, input.string());
    passes::Instrumentation checks;
    checks.verify_each = true;
    passes::run_pipeline(m, run.pipeline, run.options, checks);
    const std::string actual = ir::print_module(m);
    fs::path expected_path = input;
    expected_path.replace_extension(".expected");
    if (update) {
      write_file_atomic(expected_path.string(), actual);
      continue;
    }
    REQUIRE_MESSAGE(fs::exists(expected_path), "missing " << expected_path << " (run with EVOC_UPDATE_GOLDEN=1)");
    const std::string expected = read_file(expected_path.string());
    CHECK_MESSAGE(actual == expected, "pipeline '" << run.pipeline << "' on " << input.filename().string()
                                                   << " gave:\n" << actual << "expected:\n" << expected);
    // The expectation is canonical text: it must parse back to the same module.
    CHECK(ir::parse_module(expected, expected_path.string()) == m);
  }
  for (const passes::PassInfo& p : passes::registered_passes())
    CHECK_MESSAGE(covered.count(std::string(p.name)), "no golden test runs pass '" << p.name << "'");
}
