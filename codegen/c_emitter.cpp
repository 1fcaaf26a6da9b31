// The C backend (see c_emitter.h). `CPrinter` is an ir/scalar.h backend whose values are C
// expressions: every float or integer operation appends one `const T name = expr;` statement
// and returns the name; comparisons stay expressions inside the selects that use them (which
// C compilers turn into vector blends most reliably); constants are exact hex literals. Op kinds whose scalar
// form takes more than one statement (tanh, exp, min, relu, ...) become one static inline helper each; the
// kernel body is then one or a few statements per IR value, named after it (`v12` for `%12`).
#include "codegen/c_emitter.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "codegen/options.h"
#include "ir/error.h"
#include "ir/liveness.h"
#include "ir/printer.h"
#include "ir/scalar.h"
#include "ir/verifier.h"

namespace evoc::codegen {
namespace {

/// A C literal for `v` that denotes exactly `v` (NaN keeps its bits).
std::string float_literal(float v) {
  if (std::isnan(v))
    return fmt::format("evoc_from_bits({})", static_cast<int64_t>(std::bit_cast<int32_t>(v)));
  if (std::isinf(v)) return v > 0 ? "INFINITY" : "(-INFINITY)";
  std::string s = fmt::format("{:a}f", static_cast<double>(v));
  return std::signbit(v) ? "(" + s + ")" : s;
}

std::string int_literal(int32_t v) {
  if (v == INT32_MIN) return "(-2147483647 - 1)";
  return v < 0 ? fmt::format("({})", v) : fmt::format("{}", v);
}

/// One generated C statement: `const TYPE name = expr;`.
struct Statement {
  const char* type;
  std::string name;
  std::string expr;
};

/// The ir/scalar.h backend that prints C (see the file comment).
class CPrinter {
 public:
  using V = std::string;
  using M = std::string;
  using I = std::string;

  /// Temporaries are named `prefix` followed by a counter.
  explicit CPrinter(std::string prefix) : prefix_(std::move(prefix)) {}

  V c(float v) const { return float_literal(v); }
  I ci(int32_t v) const { return int_literal(v); }
  V add(const V& a, const V& b) { return f32(a + " + " + b); }
  V sub(const V& a, const V& b) { return f32(a + " - " + b); }
  V mul(const V& a, const V& b) { return f32(a + " * " + b); }
  V div(const V& a, const V& b) { return f32(a + " / " + b); }
  V neg(const V& a) { return f32("-" + a); }
  V fabs(const V& a) { return f32("fabsf(" + a + ")"); }
  V sqrt(const V& a) { return f32("sqrtf(" + a + ")"); }
  V floor(const V& a) { return f32("floorf(" + a + ")"); }
  M lt(const V& a, const V& b) const { return "(" + a + " < " + b + ")"; }
  M gt(const V& a, const V& b) const { return "(" + a + " > " + b + ")"; }
  M eq(const V& a, const V& b) const { return "(" + a + " == " + b + ")"; }
  M is_nan(const V& a) const { return "(" + a + " != " + a + ")"; }
  M or_(const M& a, const M& b) const { return "(" + a + " | " + b + ")"; }
  M and_(const M& a, const M& b) const { return "(" + a + " & " + b + ")"; }
  V select(const M& m, const V& a, const V& b) { return f32(m + " ? " + a + " : " + b); }
  I bits(const V& a) { return i32("evoc_bits(" + a + ")"); }
  V from_bits(const I& a) { return f32("evoc_from_bits(" + a + ")"); }
  I iadd(const I& a, const I& b) { return i32("(int32_t)((uint32_t)" + a + " + (uint32_t)" + b + ")"); }
  I isub(const I& a, const I& b) { return i32("(int32_t)((uint32_t)" + a + " - (uint32_t)" + b + ")"); }
  I iand(const I& a, const I& b) { return i32(a + " & " + b); }
  I ior(const I& a, const I& b) { return i32(a + " | " + b); }
  I ishl(const I& a, int s) { return i32(fmt::format("(int32_t)((uint32_t){} << {})", a, s)); }
  I isra(const I& a, int s) { return i32(fmt::format("{} >> {}", a, s)); }
  I ftoi(const V& a) { return i32("(int32_t)" + a); }
  V itof(const I& a) { return f32("(float)" + a); }

  std::vector<Statement> statements;

 private:
  std::string emit(const char* type, std::string expr) {
    std::string name = prefix_ + std::to_string(statements.size());
    statements.push_back({type, name, std::move(expr)});
    return name;
  }
  V f32(std::string expr) { return emit("float", std::move(expr)); }
  I i32(std::string expr) { return emit("int32_t", std::move(expr)); }

  std::string prefix_;
};

/// Runs the scalar form of a unary or binary op kind on the given operand expressions.
CPrinter::V apply(CPrinter& b, ir::Op op, const std::vector<std::string>& args) {
  return args.size() == 1 ? ir::scalar::unary(b, op, args[0]) : ir::scalar::binary(b, op, args[0], args[1]);
}

/// The helper function name of a multi-statement op kind.
std::string helper_name(ir::Op op) { return "evoc_" + std::string(ir::op_name(op)); }

/// True if op kind `op` takes more than one C statement (and so gets a helper function).
bool needs_helper(ir::Op op) {
  CPrinter b("t");
  apply(b, op, std::vector<std::string>(static_cast<std::size_t>(ir::op_info(op).arity), "a"));
  return b.statements.size() > 1;
}

void append_statements(std::string& out, const std::vector<Statement>& statements, const char* indent) {
  for (const Statement& s : statements)
    out += fmt::format("{}const {} {} = {};\n", indent, s.type, s.name, s.expr);
}

std::string helper_function(ir::Op op) {
  const bool binary = ir::op_info(op).arity == 2;
  CPrinter b("t");
  std::string result = binary ? apply(b, op, {"a", "b"}) : apply(b, op, {"a"});
  std::string out =
      fmt::format("static EVOC_INLINE float {}(float a{}) {{\n", helper_name(op), binary ? ", float b" : "");
  append_statements(out, b.statements, "  ");
  return out + "  return " + result + ";\n}\n\n";
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + c_comment_text(names[i]);
  return out;
}

constexpr const char* kPreamble = R"(#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#if defined(__GNUC__)
#define EVOC_INLINE inline __attribute__((always_inline))
#else
#define EVOC_INLINE inline
#endif

static EVOC_INLINE int32_t evoc_bits(float v) {
  int32_t i;
  memcpy(&i, &v, sizeof i);
  return i;
}

static EVOC_INLINE float evoc_from_bits(int32_t i) {
  float v;
  memcpy(&v, &i, sizeof v);
  return v;
}

)";

/// The statements computing value `id` of `m` into a constant named `v<id>`.
std::vector<Statement> value_statements(const ir::Module& m, ir::ValueId id,
                                        const std::set<ir::Op>& helpers) {
  const ir::Value& v = m.values[id];
  const std::string name = "v" + std::to_string(id);
  auto operand = [&](std::size_t i) { return "v" + std::to_string(v.args[i]); };
  CPrinter b(name + "_");
  std::string result;
  switch (v.op) {
    case ir::Op::Input:
      result = fmt::format("x[r * x_stride + {}]", id);
      break;
    case ir::Op::Const:
      result = float_literal(ir::const_value(v));
      break;
    case ir::Op::Affine:
      result = ir::scalar::affine(b, operand(0), ir::affine_scale(v), ir::affine_shift(v));
      break;
    case ir::Op::Dot:
      result = ir::scalar::dot(b, v.args.size(), operand, v.imms.data(), ir::dot_bias(v));
      break;
    default:
      if (helpers.count(v.op)) {
        result = helper_name(v.op) + "(" + operand(0) + (v.args.size() == 2 ? ", " + operand(1) : "") + ")";
      } else {
        std::vector<std::string> args;
        for (std::size_t i = 0; i < v.args.size(); ++i) args.push_back(operand(i));
        result = apply(b, v.op, args);
      }
  }
  std::vector<Statement> out = std::move(b.statements);
  if (!out.empty() && out.back().name == result)
    out.back().name = name;  // the last temporary is the value itself
  else
    out.push_back({"float", name, result});
  return out;
}

}  // namespace

std::string emit_c(const ir::Module& m, const std::string& symbol) {
  ir::verify_or_throw(m, "emit C");
  CodegenOptions named;
  named.symbol = symbol;
  kernel_symbol(m, named);  // throws if `symbol` is not a C identifier
  // The functions this file defines besides the kernel: a kernel of the same name would not
  // compile (a module named `exp` has the default symbol evoc_exp).
  std::vector<std::string> own = {"evoc_bits", "evoc_from_bits"};
  for (int op = 0; op < static_cast<int>(ir::kNumOps); ++op) own.push_back(helper_name(static_cast<ir::Op>(op)));
  if (std::find(own.begin(), own.end(), symbol) != own.end())
    throw Error(fmt::format("kernel name '{}'{} is the name of a function the generated C defines itself; "
                            "choose another with --name",
                            symbol, symbol == default_symbol(m) ? fmt::format(" (the default for module {})", ir::quote(m.name)) : ""));

  const std::vector<bool> live = ir::live_values(m);
  std::set<ir::Op> helpers;
  for (ir::ValueId id = 0; id < m.values.size(); ++id) {
    const ir::Op op = m.values[id].op;
    if (live[id] && (ir::is_unary(op) || ir::is_binary(op)) && needs_helper(op)) helpers.insert(op);
  }

  std::string out = fmt::format(
      "/* Generated by evoc: module \"{}\", content hash {:016x}.\n"
      " * {}(x, n, x_stride, y, y_stride) applies the module to n rows: row r reads\n"
      " * x[r*x_stride + 0..{}) and writes y[r*y_stride + 0..{}) (strides in floats).\n"
      " * inputs:  {}\n"
      " * outputs: {}\n"
      " * Portable C99 with the IEEE f32 semantics of evoc's interpreter, bit for bit, when\n"
      " * compiled without FMA contraction and without fast-math: {}.\n"
      " */\n",
      c_comment_text(m.name), ir::content_hash(m), symbol, m.n_in(), m.n_out(), name_list(m.input_names),
      name_list(m.output_names), kCExactFlags);
  out += kPreamble;
  for (ir::Op op : helpers) out += helper_function(op);

  out += fmt::format(
      "void {}(const float* restrict x, int64_t n, int64_t x_stride, float* restrict y, int64_t y_stride) "
      "{{\n"
      "  (void)x;\n"
      "  (void)x_stride;\n"
      "  for (int64_t r = 0; r < n; ++r) {{\n",
      symbol);
  for (ir::ValueId id = 0; id < m.values.size(); ++id)
    if (live[id]) append_statements(out, value_statements(m, id, helpers), "    ");
  for (std::size_t o = 0; o < m.outputs.size(); ++o)
    out += fmt::format("    y[r * y_stride + {}] = v{};\n", o, m.outputs[o]);
  out += "  }\n}\n";
  return out;
}

}  // namespace evoc::codegen
