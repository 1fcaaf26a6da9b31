// Data handling of the trainer: CSV loading and its errors, task inference, seeded splits,
// synthetic tasks, option parsing.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "ir/error.h"
#include "trainer/trainer.h"

using namespace evoc;
using namespace evoc::trainer;

namespace {
std::string write_temp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() / ("evoc_trainer_" + name);
  std::ofstream(path) << text;
  return path.string();
}
std::string error_of(auto&& f) {
  try {
    f();
  } catch (const evoc::Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("load_csv: target column, default last, features in order") {
  std::string path = write_temp("small.csv", "a,b,y\n1,2,0\n3,4,1\n");
  Dataset d = load_csv(path);
  CHECK(d.name == "evoc_trainer_small");
  CHECK(d.feature_names == std::vector<std::string>{"a", "b"});
  CHECK(d.target_name == "y");
  CHECK(d.features == std::vector<float>{1, 2, 3, 4});
  CHECK(d.target == std::vector<float>{0, 1});
  Dataset e = load_csv(path, "a");
  CHECK(e.feature_names == std::vector<std::string>{"b", "y"});
  CHECK(e.target == std::vector<float>{1, 3});
}

TEST_CASE("load_csv: errors name the place") {
  std::string bad = write_temp("bad.csv", "a,b,y\n1,2,0\n3,x,1\n");
  CHECK(error_of([&] { load_csv(bad); }).find(":3:") != std::string::npos);
  std::string ok = write_temp("ok.csv", "a,b,y\n1,2,0\n");
  std::string unknown = error_of([&] { load_csv(ok, "label"); });
  CHECK(unknown.find("label") != std::string::npos);
  CHECK(error_of([&] { load_csv("/nonexistent/data.csv"); }).find("/nonexistent/data.csv") != std::string::npos);
}

TEST_CASE("task inference") {
  Dataset d;
  d.feature_names = {"x"};
  d.target = {0, 1, 2, 1};
  CHECK(infer_task(d) == Task::Classify);
  d.target = {0, 1.5f};
  CHECK(infer_task(d) == Task::Regress);
  d.target = {-1, 1};
  CHECK(infer_task(d) == Task::Regress);
}

TEST_CASE("splits are seeded, disjoint and complete") {
  Split a = split_rows(100, 7, 0.15, 0.15), b = split_rows(100, 7, 0.15, 0.15), c = split_rows(100, 8, 0.15, 0.15);
  CHECK(a.train == b.train);
  CHECK(a.test == b.test);
  CHECK(a.test != c.test);
  CHECK(a.test.size() == 15);
  CHECK(a.validation.size() == 15);
  std::vector<int> seen(100, 0);
  for (const auto* part : {&a.train, &a.validation, &a.test})
    for (uint32_t r : *part) ++seen[r];
  CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
  CHECK_THROWS_AS(split_rows(3, 1, 0.15, 0.15), evoc::Error);
}

TEST_CASE("ensemble splits: one test split; member i validates on fold i; every row trains all members but one") {
  for (int members : {1, 2, 5, 9}) {
    CAPTURE(members);
    const std::size_t rows = 103;
    const std::vector<Split> splits = ensemble_splits(rows, 4, members, 0.15, 0.2);
    REQUIRE(splits.size() == static_cast<std::size_t>(members));
    const Split plain = split_rows(rows, 4, 0.0, 0.2);  // the same test rows as one run's
    std::vector<int> trained(rows, 0), validated(rows, 0);
    for (const Split& s : splits) {
      CHECK(s.test == plain.test);
      std::vector<int> seen(rows, 0);
      for (const auto* part : {&s.train, &s.validation, &s.test})
        for (uint32_t r : *part) ++seen[r];
      CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));  // a partition of the rows
      // F = max(members, round(1 / 0.15) = 7) folds of 82 rows: 11 or 12 rows each.
      const std::size_t folds = std::max(members, 7);
      CHECK(s.validation.size() >= 82 / folds);
      CHECK(s.validation.size() <= 82 / folds + 1);
      for (uint32_t r : s.train) ++trained[r];
      for (uint32_t r : s.validation) ++validated[r];
    }
    for (uint32_t r : plain.test) CHECK(trained[r] == 0);
    for (uint32_t r : plain.train) {
      CHECK(validated[r] <= 1);
      CHECK(trained[r] + validated[r] == members);
      CHECK(trained[r] >= members - 1);
    }
  }
  // Another seed, other folds; no validation fraction (a validation file): all rows train.
  CHECK(ensemble_splits(103, 5, 3, 0.15, 0.2)[0].validation != ensemble_splits(103, 4, 3, 0.15, 0.2)[0].validation);
  for (const Split& s : ensemble_splits(50, 1, 3, 0.0, 0.0)) {
    CHECK(s.train.size() == 50);
    CHECK(s.validation.empty());
  }
  CHECK(error_of([] { ensemble_splits(10, 1, 20, 0.15, 0.0); }) ==
        "10 rows outside the test split are too few to cut into 20 validation folds for 20 members");
  CHECK_THROWS_AS(ensemble_splits(10, 1, 0, 0.15, 0.0), evoc::Error);
}

TEST_CASE("synthetic tasks") {
  Dataset d = make_synthetic("interaction", 100);
  CHECK(d.rows() == 100);
  CHECK(d.n_features() == 5);
  CHECK(infer_task(d) == Task::Regress);
  CHECK(make_synthetic("interaction", 100).features == d.features);
  CHECK(infer_task(make_synthetic("xor", 100)) == Task::Classify);
  CHECK(error_of([] { make_synthetic("nope"); }).find("interaction") != std::string::npos);
}

TEST_CASE("option parsing") {
  CHECK(parse_op_kinds("add,mul,tanh") == std::vector<ir::Op>{ir::Op::Add, ir::Op::Mul, ir::Op::Tanh});
  CHECK(error_of([] { parse_op_kinds("add,dot"); }).find("dot") != std::string::npos);
  CHECK(error_of([] { parse_op_kinds("mull"); }).find("mull") != std::string::npos);
  CHECK(parse_norm("l2batch") == Norm::L2Batch);
  CHECK(error_of([] { parse_norm("layer"); }).find("batch, l2batch, none") != std::string::npos);
}
