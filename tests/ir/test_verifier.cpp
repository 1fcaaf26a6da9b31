// The verifier: each broken invariant is reported naming the value.
#include <doctest/doctest.h>

#include "ir/error.h"
#include "ir/module.h"
#include "ir/verifier.h"

using namespace evoc::ir;

namespace {
Module base() {
  Module m = make_module("m", 2);
  ValueId s = add_binary(m, Op::Add, 0, 1);
  add_output(m, s, "y");
  return m;
}
std::string first_problem(const Module& m) {
  auto p = verify_module(m);
  return p.empty() ? "(ok)" : p.front();
}
}  // namespace

TEST_CASE("well-formed module verifies") { CHECK(first_problem(base()) == "(ok)"); }

TEST_CASE("operand defined after use") {
  Module m = base();
  m.values[2].args[1] = 2;
  CHECK(first_problem(m) == "%2 (add): operand %2 is not defined before use");
}

TEST_CASE("wrong arity and immediates") {
  Module m = base();
  m.values[2].args.pop_back();
  CHECK(first_problem(m) == "%2 (add): takes 2 operands, has 1");
  Module a = base();
  add_value(a, Value{Op::Affine, {0}, {1.0f}});
  CHECK(first_problem(a) == "%3 (affine): expects 2 immediates, has 1");
  Module d = base();
  add_value(d, Value{Op::Dot, {0, 1}, {1.0f, 2.0f}});
  CHECK(first_problem(d) == "%3 (dot): expects 3 immediates, has 2");
}

TEST_CASE("inputs must come first") {
  Module m = base();
  m.values[1] = Value{Op::Const, {}, {1.0f}};
  CHECK(first_problem(m) == "%1 (const): values %0..%1 must be the module's inputs");
  Module late = base();
  add_value(late, Value{Op::Input, {}, {}});
  CHECK(first_problem(late) == "%3 (input): input values must be the first 2 values");
}

TEST_CASE("outputs in range and counts consistent") {
  Module m = base();
  m.outputs[0] = 9;
  CHECK(first_problem(m) == "output 0 reads undefined value %9");
  Module n = base();
  n.output_names.push_back("extra");
  CHECK(first_problem(n) == "module has 1 outputs but 2 output names");
  CHECK_THROWS_AS(verify_or_throw(n, "after pass x"), evoc::Error);
}

TEST_CASE("compact renumbers densely and keeps inputs") {
  Module m = make_module("m", 2);
  ValueId dead = add_unary(m, Op::Neg, 0);
  ValueId live = add_binary(m, Op::Mul, 1, 1);
  add_output(m, live, "y");
  std::vector<bool> keep(m.values.size(), true);
  keep[dead] = false;
  auto remap = compact(m, keep);
  CHECK(m.values.size() == 3);
  CHECK(m.outputs[0] == 2);
  CHECK(remap[live] == 2);
  CHECK(verify_module(m).empty());
}

TEST_CASE("names: each input and output name once, none empty") {
  Module dup_out = base();
  add_output(dup_out, 2, "y");
  CHECK(first_problem(dup_out) == "outputs 0 and 1 are both named \"y\"");
  Module dup_in = base();
  dup_in.input_names[1] = "x0";
  CHECK(first_problem(dup_in) == "inputs 0 and 1 are both named \"x0\"");
  Module empty = base();
  empty.output_names[0] = "";
  CHECK(first_problem(empty) == "output 0 has an empty name");
  Module same_in_and_out = base();
  same_in_and_out.output_names[0] = "x0";  // an output may share an input's name
  CHECK(first_problem(same_in_and_out) == "(ok)");
}
