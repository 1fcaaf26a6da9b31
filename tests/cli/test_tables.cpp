// Raw tables end to end: `evoc train` on a table with an ID column, categorical columns, empty
// cells and text labels, with no preparation; the JIT kernel, the AOT kernel (a shared library
// from `evoc compile`) and `evoc run` on the raw CSV give the same probabilities bit for bit;
// class labels of every shape; the table shapes of docs/bad-inputs.md.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>

#include <doctest/doctest.h>
#include <fmt/core.h>

#include "cli_runner.h"
#include "ir/csv.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "runtime/evoc.h"
#include "runtime/kernel.h"

namespace evoc {
namespace {

using test::run_evoc;

/// A customer table: an ID, a region (5 levels, one with a comma and quotes), a product (50
/// levels), three numeric columns with about 10% empty cells, one complete numeric column, and
/// a yes/no target driven by an interaction (x1 * x2) plus the region and the product.
/// `unseen`: also levels no training row has, and missing categories.
std::string customer_table(int rows, uint32_t seed, bool unseen) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform;
  const char* regions[] = {"north", "south", "east", "west", "central, \"old\" town"};
  std::string text = "customer_id,region,product,x1,x2,x3,tenure,churned\n";
  for (int r = 0; r < rows; ++r) {
    const int region = static_cast<int>(rng() % 5), product = static_cast<int>(rng() % 50);
    const float x1 = normal(rng), x2 = normal(rng), x3 = normal(rng), tenure = 10 * uniform(rng);
    const float logit = 3.0f * x1 * x2 + (region == 0 ? 1.0f : region == 4 ? -1.0f : 0.0f) +
                        (product % 7 == 0 ? 1.0f : 0.0f) + 0.3f * x3 + 0.5f * normal(rng);
    auto cell = [&](float v) { return uniform(rng) < 0.1f ? std::string() : fmt::format("{:.4f}", v); };
    std::string region_cell = csv::format_row(std::vector<std::string>{regions[region]});
    std::string product_cell = fmt::format("p{:02d}", product);
    if (unseen && r % 7 == 0) region_cell = "atlantis";
    if (unseen && r % 11 == 0) product_cell = r % 2 ? "" : "p99";
    text += fmt::format("C{},{},{},{},{},{},{:.3f},{}\n", 100000 + r, region_cell, product_cell, cell(x1), cell(x2),
                        cell(x3), tenure, logit > 0 ? "yes" : "no");
  }
  return text;
}

std::vector<std::vector<float>> read_floats(const std::string& csv_text) {
  std::istringstream lines(csv_text);
  std::string line;
  std::getline(lines, line);  // header
  std::vector<std::vector<float>> rows;
  while (std::getline(lines, line)) {
    std::vector<float> row;
    for (const std::string& cell : csv::parse_row(line)) row.push_back(std::strtof(cell.c_str(), nullptr));
    rows.push_back(row);
  }
  return rows;
}

double accuracy_of(const std::string& eval_output) {
  const auto at = eval_output.find("accuracy  ");
  REQUIRE(at != std::string::npos);
  return std::strtod(eval_output.c_str() + at + 10, nullptr);
}

TEST_CASE("tables: a raw customer table trains unprepared; JIT, AOT and evoc run agree bit for bit") {
  TempDir tmp;
  const std::string train = tmp.file("customers.csv"), test = tmp.file("test.csv");
  write_file_atomic(train, customer_table(3000, 1, false));
  write_file_atomic(test, customer_table(1000, 2, true));
  const std::string model = tmp.file("customers.evir"), linear = tmp.file("linear.evir");
  auto t = run_evoc("train " + train + " -o " + model + " --epochs 30 --max-ops 6 --seed 3");
  REQUIRE_MESSAGE(t.status == 0, t.err);
  CHECK(t.err.find("column 'customer_id' dropped: a distinct text in every row") != std::string::npos);
  CHECK(t.err.find("task: classify (it has values that are not numbers), target 'churned': 2 classes in this "
                   "order: no, yes") != std::string::npos);
  CHECK(t.err.find("column 'product': categorical, 50 levels") != std::string::npos);
  CHECK(t.err.find("column 'x1': numeric") != std::string::npos);
  auto l = run_evoc("train " + train + " -o " + linear + " --epochs 30 --max-ops 0 --seed 3 -q");
  REQUIRE_MESSAGE(l.status == 0, l.err);

  const ir::Module m = ir::read_module(model);
  CHECK(ir::class_names(m) == std::vector<std::string>{"no", "yes"});
  const auto schema = ir::read_schema(m);
  REQUIRE(schema);
  CHECK(m.input_names == std::vector<std::string>{"region", "product", "x1", "x2", "x3", "tenure"});
  CHECK(schema->columns[0].levels.size() == 5);
  CHECK(schema->columns[1].levels.size() == 50);

  // evoc run on the raw CSV: unseen levels and empty cells predict without error.
  auto run = run_evoc("run " + model + " --engine jit --output probabilities -i " + test);
  REQUIRE_MESSAGE(run.status == 0, run.err);
  CHECK(run.out.starts_with("no,yes\n"));
  const auto by_run = read_floats(run.out);
  REQUIRE(by_run.size() == 1000);
  auto interp = run_evoc("run " + model + " --engine interp --output probabilities -i " + test);
  REQUIRE(interp.status == 0);
  CHECK(interp.out == run.out);
  auto labelled = run_evoc("run " + model + " -i " + test);
  REQUIRE(labelled.status == 0);
  CHECK(labelled.out.starts_with("churned,no,yes\n"));

  // The kernels, fed the codes the schema gives (and the level codes the kernel API gives).
  const csv::TextTable table = csv::read_text(test);
  const std::vector<float> x = ir::encode_table(*schema, table);
  KernelOptions options;
  options.use_cache = false;
  options.codegen.opt_level = 2;
  options.output = Output::Probabilities;
  const Kernel jit = Kernel::compile(m, options);
  CHECK(jit.class_names() == std::vector<std::string>{"no", "yes"});
  const auto& regions = schema->columns[0].levels;
  CHECK(jit.level_code(0, "central, \"old\" town") ==
        static_cast<float>(std::find(regions.begin(), regions.end(), "central, \"old\" town") - regions.begin()));
  CHECK(std::isnan(jit.level_code(0, "atlantis")));
  CHECK(jit.level_code(1, "p00") == static_cast<float>(
                                        std::find(schema->columns[1].levels.begin(), schema->columns[1].levels.end(), "p00") -
                                        schema->columns[1].levels.begin()));
  const std::string so = tmp.file("customers.so");
  auto compiled = run_evoc("compile " + model + " --emit=so -O2 -o " + so);
  REQUIRE_MESSAGE(compiled.status == 0, compiled.err);
  const Kernel aot = Kernel::load_library(so, m, options);
  const std::vector<float> p_jit = jit.run(x), p_aot = aot.run(x);
  REQUIRE(p_jit.size() == 2000);
  int mismatches = 0;
  for (std::size_t r = 0; r < 1000; ++r)
    for (std::size_t c = 0; c < 2; ++c) {
      const uint32_t want = std::bit_cast<uint32_t>(by_run[r][c]);
      mismatches += std::bit_cast<uint32_t>(p_jit[r * 2 + c]) != want || std::bit_cast<uint32_t>(p_aot[r * 2 + c]) != want ||
                    std::isnan(by_run[r][c]);
    }
  CHECK(mismatches == 0);

  // Better than a linear model on the same rows: the target is an interaction.
  auto evolved_eval = run_evoc("eval " + model + " -i " + test);
  auto linear_eval = run_evoc("eval " + linear + " -i " + test);
  REQUIRE_MESSAGE(evolved_eval.status == 0, evolved_eval.err);
  REQUIRE_MESSAGE(linear_eval.status == 0, linear_eval.err);
  CHECK(evolved_eval.out.find("ROC AUC") != std::string::npos);
  CHECK(evolved_eval.out.find("confusion (rows: true class, columns: predicted class)") != std::string::npos);
  MESSAGE("evolved: ", evolved_eval.out, "linear: ", linear_eval.out);
  CHECK(accuracy_of(evolved_eval.out) > accuracy_of(linear_eval.out) + 0.05);
}

/// The customer model of the test above, trained once more (small and fast) for the tools.
TEST_CASE("tables: inspect names the columns, classes and outputs; importance ranks the signal; dot stays readable") {
  TempDir tmp;
  const std::string train = tmp.file("customers.csv"), test = tmp.file("test.csv"), model = tmp.file("m.evir");
  write_file_atomic(train, customer_table(2000, 4, false));
  write_file_atomic(test, customer_table(600, 5, true));
  auto t = run_evoc("train " + train + " -o " + model + " --epochs 10 --max-ops 4 -q");
  REQUIRE_MESSAGE(t.status == 0, t.err);
  auto i = run_evoc("inspect " + model + " --importance " + test);
  REQUIRE_MESSAGE(i.status == 0, i.err);
  CHECK(i.out.find("classes: no,yes") != std::string::npos);
  CHECK(i.out.find("each output: the logit of a class") != std::string::npos);
  CHECK(i.out.find("product          categorical, 50 levels") != std::string::npos);
  const auto table = i.out.find("log loss rise");
  REQUIRE(table != std::string::npos);
  // x1 and x2 carry the interaction; the first row of the ranking is one of them.
  std::istringstream lines(i.out.substr(table));
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  CHECK_MESSAGE((first.find("x1") != std::string::npos || first.find("x2") != std::string::npos), i.out);

  // The C API names the classes and gives the level codes.
  evoc_options* options = nullptr;
  REQUIRE(evoc_options_create(&options) == EVOC_OK);
  REQUIRE(evoc_options_disable_cache(options, 1) == EVOC_OK);
  evoc_kernel* k = nullptr;
  REQUIRE(evoc_kernel_from_file(model.c_str(), options, &k) == EVOC_OK);
  int64_t classes = 0;
  CHECK(evoc_kernel_n_classes(k, &classes) == EVOC_OK);
  CHECK(classes == 2);
  const char* name = nullptr;
  CHECK(evoc_kernel_class_name(k, 1, &name) == EVOC_OK);
  CHECK(std::string(name) == "yes");
  CHECK(evoc_kernel_class_name(k, 2, &name) == EVOC_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(evoc_last_error()).find("class index 2 is out of range (the kernel has 2 classes)") != std::string::npos);
  float code = 0;
  CHECK(evoc_kernel_level_code(k, 0, "atlantis", &code) == EVOC_OK);
  CHECK(std::isnan(code));
  CHECK(evoc_kernel_level_code(k, 0, "central, \"old\" town", &code) == EVOC_OK);
  CHECK(code >= 0);
  CHECK(evoc_kernel_level_code(k, 9, "x", &code) == EVOC_ERROR_INVALID_ARGUMENT);
  evoc_kernel_free(k);
  evoc_options_free(options);

  auto dot = run_evoc("dot " + model);
  REQUIRE(dot.status == 0);
  CHECK(dot.out.find("penwidth=") != std::string::npos);
  CHECK(dot.out.find("edges drawn") != std::string::npos);  // 50 product levels: not every edge is drawn
  const std::string svg = tmp.file("m.svg");
  auto render = run_evoc("dot " + model + " --render " + svg);
  if (std::system("command -v dot >/dev/null 2>&1") == 0) {
    CHECK_MESSAGE(render.status == 0, render.err);
    CHECK(read_file(svg).find("<svg") != std::string::npos);
  } else {
    CHECK(render.status == 1);
    CHECK(render.err.find("Graphviz's 'dot' is not installed") != std::string::npos);
    CHECK(!std::filesystem::exists(svg));
  }
}

/// Trains a small model on `csv` and returns it (the test fails if training fails).
ir::Module train_small(TempDir& tmp, const std::string& csv, const std::string& flags = "") {
  const std::string data = tmp.file("t.csv"), model = tmp.file("t.evir");
  write_file_atomic(data, csv);
  auto r = run_evoc("train " + data + " -o " + model + " --epochs 2 --max-ops 0 -q " + flags);
  REQUIRE_MESSAGE(r.status == 0, r.err);
  return ir::read_module(model);
}

std::string labelled(const std::vector<std::string>& labels) {
  std::string text = "a,b,y\n";
  for (std::size_t r = 0; r < 60; ++r)
    text += fmt::format("{},{},{}\n", r % 7, (r * 13) % 5, labels[r % labels.size()]);
  return text;
}

TEST_CASE("tables: class labels of every shape become named classes") {
  TempDir tmp;
  ir::Module m = train_small(tmp, labelled({"5", "6", "7"}));
  CHECK(m.n_out() == 3);
  CHECK(ir::class_names(m) == std::vector<std::string>{"5", "6", "7"});
  m = train_small(tmp, labelled({"-1", "+1"}));
  CHECK(m.meta("task") == "classify");
  CHECK(ir::class_names(m) == std::vector<std::string>{"-1", "1"});
  m = train_small(tmp, labelled({"0", "1000"}));
  CHECK(m.n_out() == 2);
  CHECK(ir::class_names(m) == std::vector<std::string>{"0", "1000"});
  m = train_small(tmp, labelled({"0.5", "1.5", "2.25"}), "--task classify");
  CHECK(ir::class_names(m) == std::vector<std::string>{"0.5", "1.5", "2.25"});
  m = train_small(tmp, labelled({"yes", "no"}));
  CHECK(ir::class_names(m) == std::vector<std::string>{"no", "yes"});
  write_file_atomic(tmp.file("m.evir"), ir::print_module(m));
  auto h = run_evoc("compile " + tmp.file("m.evir") + " --emit=header --name churn");
  REQUIRE(h.status == 0);
  CHECK(h.out.find("static const char* const churn_class_names[CHURN_N_CLASSES + 1] = {\"no\", \"yes\", 0};") !=
        std::string::npos);
  CHECK(h.out.find("logit of class \"yes\"") != std::string::npos);
  auto i = run_evoc("inspect " + tmp.file("m.evir"));
  REQUIRE(i.status == 0);
  CHECK(i.out.find("no") != std::string::npos);
}

TEST_CASE("tables: the shapes of docs/bad-inputs.md") {
  TempDir tmp;
  // An all-missing column is dropped with a note; a category with commas and quotes round-trips.
  std::string text = "empty,city,v,y\n";
  for (int r = 0; r < 40; ++r)
    text += fmt::format(",{},{},{}\n", r % 2 ? "\"Paris, \"\"the\"\" city\"" : "Rome", r % 5, r % 3 ? "a" : "b");
  write_file_atomic(tmp.file("t.csv"), text);
  auto r = run_evoc("train " + tmp.file("t.csv") + " -o " + tmp.file("t.evir") + " --epochs 1 --max-ops 0");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("column 'empty' dropped: it is empty in every row") != std::string::npos);
  const ir::Module m = ir::read_module(tmp.file("t.evir"));
  REQUIRE(ir::read_schema(m));
  const auto levels = ir::read_schema(m)->columns[0].levels;
  CHECK(std::find(levels.begin(), levels.end(), "Paris, \"the\" city") != levels.end());
  CHECK(ir::parse_module(ir::print_module(m)) == m);
  auto run = run_evoc("run " + tmp.file("t.evir") + " -i " + tmp.file("t.csv"));
  CHECK(run.status == 0);

  // One text in every row (a word, a number) drops the column; the median of an even and of an
  // odd number of values fills the gaps.
  text = "word,three,even,odd,v,y\n";
  for (int r = 0; r < 40; ++r)
    text += fmt::format("x,3,{},{},{},{}\n", r % 2 ? "" : r % 4 ? "4" : "1", r < 3 ? std::string(1, "715"[r]) : "NA",
                        r % 7, r % 3 ? "a" : "b");
  write_file_atomic(tmp.file("c.csv"), text);
  r = run_evoc("train " + tmp.file("c.csv") + " -o " + tmp.file("c.evir") + " --epochs 1 --max-ops 0");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("column 'word' dropped: it is 'x' in every row") != std::string::npos);
  CHECK(r.err.find("column 'three' dropped: it is '3' in every row") != std::string::npos);
  CHECK(r.err.find("column 'even': numeric, 20 missing cells (imputed with the median 2.5,") != std::string::npos);
  CHECK(r.err.find("column 'odd': numeric, 37 missing cells (imputed with the median 5,") != std::string::npos);

  // A categorical target with one class.
  write_file_atomic(tmp.file("one.csv"), "a,y\n1,yes\n2,yes\n3,yes\n");
  r = run_evoc("train " + tmp.file("one.csv") + " -o " + tmp.file("one.evir"));
  CHECK(r.status == 1);
  CHECK(r.err.find("target 'y' has one class ('yes'): nothing to classify") != std::string::npos);
  CHECK(!std::filesystem::exists(tmp.file("one.evir")));

  // 10,000 levels: the 64 most frequent kept, the rest read as "other".
  text = "code,v,y\n";
  for (int row = 0; row < 10000; ++row) text += fmt::format("k{},{},{}\n", row, row % 3, row % 2);
  text += "k1,1,0\n";  // not an ID: one level repeats
  write_file_atomic(tmp.file("many.csv"), text);
  r = run_evoc("train " + tmp.file("many.csv") + " -o " + tmp.file("many.evir") + " --epochs 1 --max-ops 0");
  REQUIRE_MESSAGE(r.status == 0, r.err);
  CHECK(r.err.find("column 'code': categorical, 10000 levels: the 64 most frequent kept") != std::string::npos);

  // The flags: unknown columns, contradictions, a --numeric column with text.
  r = run_evoc("train " + tmp.file("t.csv") + " -o " + tmp.file("x.evir") + " --drop nope");
  CHECK(r.status == 1);
  CHECK(r.err.find("--drop names no column 'nope'") != std::string::npos);
  r = run_evoc("train " + tmp.file("t.csv") + " -o " + tmp.file("x.evir") + " --categorical v --numeric v");
  CHECK(r.status == 1);
  CHECK(r.err.find("column 'v' is given both --categorical and --numeric") != std::string::npos);
  r = run_evoc("train " + tmp.file("t.csv") + " -o " + tmp.file("x.evir") + " --numeric city");
  CHECK(r.status == 1);
  CHECK(r.err.find("t.csv:2: column 'city' is --numeric, but 'Rome' is not a number") != std::string::npos);
  r = run_evoc("train " + tmp.file("t.csv") + " -o " + tmp.file("x.evir") + " --categorical v --epochs 1 --max-ops 0");
  CHECK(r.status == 0);
  CHECK(r.err.find("column 'v': categorical, 5 levels (--categorical)") != std::string::npos);

  // evoc run on a table model: a numeric column with text names the line and column.
  write_file_atomic(tmp.file("bad.csv"), "city,v\nRome,1\nRome,many\n");
  auto bad = run_evoc("run " + tmp.file("t.evir") + " -i " + tmp.file("bad.csv"));
  CHECK(bad.status == 1);
  CHECK(bad.err.find("bad.csv:3: column 'v' is numeric, but 'many' is not a number") != std::string::npos);
  // --output on a regression model that is not a classifier.
  auto reg = train_small(tmp, "a,y\n1,0.5\n2,1.25\n3,2.5\n4,3.75\n5,4.5\n6,5.5\n7,6.25\n8,7.5\n9,8.5\n10,9.75\n"
                              "11,10.5\n12,11.25\n13,12.5\n14,13.5\n15,14.25\n16,15.5\n17,16.5\n18,17.5\n19,18.25\n20,19.5\n");
  CHECK(reg.meta("task") == "regress");
  auto p = run_evoc("run " + tmp.file("t.evir") + " --output probabilities -i " + tmp.file("t.csv"));
  CHECK(p.status == 1);
  CHECK(p.err.find("is not a classifier") != std::string::npos);
}

}  // namespace
}  // namespace evoc
