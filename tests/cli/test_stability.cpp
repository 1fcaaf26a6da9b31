// Training stays stable: with unlimited growth, every mutation accepted and batch
// normalisation, the validation metric of the network being evolved (evaluated with its frozen
// statistics, as it is exported) never collapses once it has learned the task.
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "ir/file_util.h"
#include "tests/cli/cli_runner.h"

using evoc::test::run_evoc;

namespace {

/// The "val_metric" of every line of a --history file.
std::vector<double> val_metrics(const std::string& history) {
  std::vector<double> out;
  std::istringstream in(history);
  std::string line;
  const std::string key = "\"val_metric\":";
  while (std::getline(in, line)) {
    auto at = line.find(key);
    REQUIRE(at != std::string::npos);
    out.push_back(std::strtod(line.c_str() + at + key.size(), nullptr));
  }
  return out;
}

void check_stable(const std::string& task, double floor) {
  evoc::TempDir tmp;
  const std::string history = tmp.file("history.jsonl");
  auto r = run_evoc("train --synthetic " + task +
                    " --max-ops 200 --epochs 40 --fallback-significance -1 --significance 0 --min-gain 0 "
                    "--norm batch --quiet -o " + tmp.file("m.evir") + " --history " + history);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  std::vector<double> metric = val_metrics(evoc::read_file(history));
  REQUIRE(metric.size() == 40);
  for (std::size_t e = 10; e < metric.size(); ++e) {
    CAPTURE(task);
    CAPTURE(e + 1);
    CHECK(metric[e] > floor);
  }
}

}  // namespace

TEST_CASE("evolution with batch normalisation stays stable on the built-in tasks") {
  if (run_evoc("train --help").status != 0) {
    MESSAGE("evoc train is not in this build: skipped");
    return;
  }
  check_stable("interaction", 0.9);  // validation R^2 after every epoch past the 10th
  check_stable("xor", 0.9);          // validation accuracy
}
