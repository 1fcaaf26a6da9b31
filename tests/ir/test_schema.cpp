// The table op kinds (fillnan, eq, isnan), the column schema's metadata form and cell encoding,
// cell-text CSV reading, and the evaluation metrics.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/metrics.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/scalar.h"
#include "ir/schema.h"

namespace evoc::ir {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST_CASE("table ops: fillnan replaces NaN only, eq is IEEE equality as 1 or 0, isnan") {
  CHECK(eval_binary(Op::FillNan, kNaN, 2.5f) == 2.5f);
  CHECK(eval_binary(Op::FillNan, -kNaN, 2.5f) == 2.5f);
  CHECK(std::signbit(eval_binary(Op::FillNan, -0.0f, 2.5f)));
  CHECK(eval_binary(Op::FillNan, -INFINITY, 2.5f) == -INFINITY);
  CHECK(std::isnan(eval_binary(Op::FillNan, kNaN, kNaN)));
  CHECK(eval_binary(Op::Eq, 3.0f, 3.0f) == 1.0f);
  CHECK(eval_binary(Op::Eq, 3.0f, 4.0f) == 0.0f);
  CHECK(eval_binary(Op::Eq, kNaN, kNaN) == 0.0f);
  CHECK(eval_binary(Op::Eq, 0.0f, -0.0f) == 1.0f);
  CHECK(std::bit_cast<uint32_t>(eval_binary(Op::Eq, 1.0f, 2.0f)) == 0u);  // +0, not -0
  CHECK(eval_unary(Op::IsNan, kNaN) == 1.0f);
  CHECK(eval_unary(Op::IsNan, INFINITY) == 0.0f);
  CHECK(is_commutative(Op::Eq));
  CHECK(!is_commutative(Op::FillNan));
}

TEST_CASE("schema: metadata round trip with commas and quotes; cells encode to values, codes and NaN") {
  Module m = make_module("t", 3, {"city", "v", "code"});
  add_output(m, add_binary(m, Op::FillNan, 1, add_const(m, 1.5f)), "y");
  Schema s;
  s.columns = {{"city", ColumnKind::Categorical, {"Rome", "Paris, \"the\" city", "", " spaced "}},
               {"v", ColumnKind::Numeric, {}},
               {"code", ColumnKind::Categorical, {"1", "2"}}};
  write_schema(m, s);
  set_class_names(m, {"no", "yes, sure"});
  const Module back = parse_module(print_module(m));
  CHECK(back == m);
  auto r = read_schema(back);
  REQUIRE(r);
  CHECK(r->columns[0].levels == s.columns[0].levels);
  CHECK(r->columns[1].kind == ColumnKind::Numeric);
  CHECK(class_names(back) == std::vector<std::string>{"no", "yes, sure"});
  CHECK(r->encode(0, "Paris, \"the\" city", "f", 1) == 1.0f);
  CHECK(std::isnan(r->encode(0, "Atlantis", "f", 1)));  // unseen: "other"
  for (const char* missing : {"", "NA", "N/A", "NaN", "nan", "?", "null", "NULL", "None"}) {
    CHECK(std::isnan(r->encode(0, missing, "f", 1)));
    CHECK(std::isnan(r->encode(1, missing, "f", 1)));
  }
  CHECK(r->encode(1, "+2.5", "f", 1) == 2.5f);
  CHECK(r->encode(2, "2", "f", 1) == 1.0f);
  CHECK_THROWS_WITH_AS(r->encode(1, "many", "f.csv", 7),
                       doctest::Contains("f.csv:7: column 'v' is numeric, but 'many' is not a number"), Error);
  Module plain = make_module("p", 1);
  CHECK(!read_schema(plain));
  m.set_meta("column.v", "text");
  CHECK_THROWS_WITH_AS(read_schema(m), doctest::Contains("metadata 'column.v' is 'text'"), Error);
}

TEST_CASE("csv: cell texts keep text and empty cells; records round trip") {
  const csv::TextTable t = csv::parse_text("a,b\n1,\"x, \"\"y\"\"\"\n,  z \n", "f.csv");
  CHECK(t.rows() == 2);
  CHECK(t.at(0, 1) == "x, \"y\"");
  CHECK(t.at(1, 0) == "");
  CHECK(t.at(1, 1) == "z");
  CHECK(t.lines == std::vector<int>{2, 3});
  CHECK_THROWS_WITH_AS(t.column_index("c"), doctest::Contains("f.csv: no column named 'c' (columns: a, b)"), Error);
  CHECK_THROWS_AS(csv::parse_text("a,b\n1\n", "f.csv"), ParseError);
  const std::vector<std::string> cells = {"plain", "with, comma", "with \"quote\"", "", " pad "};
  CHECK(csv::parse_row(csv::format_row(cells)) == cells);
}

TEST_CASE("metrics: accuracy, log loss, macro F1, confusion, ROC AUC; R^2, RMSE, MAE") {
  // Four rows, two classes: p(class 1) = 0.9, 0.6, 0.4, 0.2 for labels 1, 0, 1, 0.
  const float p[] = {0.1f, 0.9f, 0.4f, 0.6f, 0.6f, 0.4f, 0.8f, 0.2f};
  const metrics::Classification c = metrics::classify({1, 0, 1, 0}, p, 2);
  CHECK(c.accuracy == doctest::Approx(0.5));
  CHECK(c.confusion == std::vector<std::vector<std::size_t>>{{1, 1}, {1, 1}});
  CHECK(c.macro_f1 == doctest::Approx(0.5));
  REQUIRE(c.roc_auc);
  CHECK(*c.roc_auc == doctest::Approx(0.75));  // 3 of the 4 positive-negative pairs ordered right
  CHECK(c.log_loss == doctest::Approx((-std::log(0.9) - std::log(0.4) - std::log(0.4) - std::log(0.8)) / 4).epsilon(1e-6));
  const float q[] = {1, 2, 4};
  const metrics::Regression r = metrics::regress({1, 2, 3}, q, 1);
  CHECK(r.r2 == doctest::Approx(0.5));
  CHECK(r.rmse == doctest::Approx(std::sqrt(1.0 / 3)));
  CHECK(r.mae == doctest::Approx(1.0 / 3));
}

TEST_CASE("metrics: one argmax: the first of ties wins, a NaN never wins, all NaN is class 0") {
  const float tie[] = {1, 3, 3};
  CHECK(metrics::argmax(tie, 3) == 1);
  const float nan_first[] = {kNaN, -5, -7};
  CHECK(metrics::argmax(nan_first, 3) == 1);  // max_element would keep the NaN at 0
  const float nan_middle[] = {-1, kNaN, -2};
  CHECK(metrics::argmax(nan_middle, 3) == 0);
  const float all_nan[] = {kNaN, kNaN};
  CHECK(metrics::argmax(all_nan, 2) == 0);
  const float inf[] = {-INFINITY, INFINITY, kNaN};
  CHECK(metrics::argmax(inf, 3) == 1);
  // One score: a binary classifier's logit (above 0) or probability (above 0.5).
  const float one[] = {0.3f};
  CHECK(metrics::predicted_class(one, 1) == 1);
  CHECK(metrics::predicted_class(one, 1, 0.5f) == 0);
  const float nan_one[] = {kNaN};
  CHECK(metrics::predicted_class(nan_one, 1) == 0);
  // accuracy uses the same rule: rows {NaN, 2} and {3, NaN}, strided by 3 (the third ignored).
  const float rows[] = {kNaN, 2, 9, 3, kNaN, 9};
  CHECK(metrics::accuracy({1, 0}, rows, 2, 3) == 1.0);
  CHECK(metrics::accuracy({1, 0.5}, rows, 2, 3) == 0.5);  // a label that is not a class index
  CHECK(metrics::accuracy({}, rows, 2, 3) == 0.0);
  // classify predicts through the same argmax.
  const float two[] = {kNaN, 0.5f, 0.5f, kNaN};
  const metrics::Classification c = metrics::classify({1, 0}, two, 2);
  CHECK(c.confusion[1][1] == 1);
  CHECK(c.confusion[0][0] == 1);
}

}  // namespace
}  // namespace evoc::ir
