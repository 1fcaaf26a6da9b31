// simplify: algebraic identities. Evolved networks carry neutral operations (weights of exactly
// 1, shifts of -0, double negations, normalisations of normalisations); removing them shortens
// the dependency chains the code generator emits.
//
// Exactness: exact by default. Every default rewrite gives the same bits as the original on
// every input, NaN and Inf and -0 included (NaN payloads aside):
//   x op e -> x for the op table's right identities (x+(-0), x-(+0), x*1, x/1, min(x,+Inf),
//     max(x,-Inf)), on either side for commutative ops; note x+(+0) is NOT one (-0+0 = +0)
//   x op x -> x for the table's idempotent ops (min, max)
//   x*(-1), x/(-1), (-0)-x -> neg x;  x+neg y -> x-y;  x-neg y -> x+y;  x*x -> square x
//   x/c -> x*(1/c) when c = +-2^k and 1/c is a normal float (both round the same real once)
//   neg neg x -> x;  f(neg x), f(abs x) -> f x for the table's even ops (abs, square)
//   f y -> y for the table's projections when y's kind is in f's range: relu y when y is never
//     negative (relu keeps -0), abs y when y's sign bit is always clear (ops.def's range flags)
//   affine(x; 1, -0) -> x;  affine(x; -1, -0) -> neg x;  affine(neg x; a, b) -> affine(x; -a, b)
//   affine(affine(x; a1, -0); +-1, b) -> affine(x; +-a1, b)   (negating a product is exact)
//   dot with one term [v w] + b -> affine(v; w, b)   (b + w*v == w*v + b: IEEE add commutes)
//   dot term [neg v, w] -> [v, -w]
// With PassOptions::fast_math (assume no NaN/Inf, ignore the sign of zero, reassociate) also:
//   x*0 -> 0;  x+0 -> x;  x-x -> 0;  affine(x; 0, b) -> b;
//   affine(affine(x; a1, b1); a2, b2) -> affine(x; a2*a1, a2*b1 + b2)
// which makes the pass rounding-changing (see the registry row).
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

using ir::Op;
using ir::Value;
using ir::ValueId;

bool same_bits(float a, float b) { return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b); }

// 1/c if c = +-2^k with both c and 1/c normal floats, so that x/c == x*(1/c) for every x.
std::optional<float> exact_reciprocal(float c) {
  if (!std::isnormal(c)) return std::nullopt;
  int exponent = 0;
  if (std::fabs(std::frexp(c, &exponent)) != 0.5f) return std::nullopt;
  const float r = 1.0f / c;
  if (!std::isnormal(r)) return std::nullopt;
  return r;
}

class Simplifier {
 public:
  Simplifier(Rebuilder& r, const PassOptions& options, Counters& counters)
      : r_(r), fast_math_(options.fast_math), counters_(counters) {}

  // The new id of `v` (operands already renamed) after applying rules until none applies.
  ValueId simplify(Value v) {
    switch (v.op) {
      case Op::Input:
      case Op::Const: break;
      case Op::Affine: return simplify_affine(std::move(v));
      case Op::Dot: return simplify_dot(std::move(v));
      default:
        if (ir::is_unary(v.op)) return simplify_unary(std::move(v));
        return simplify_binary(std::move(v));
    }
    return r_.emit(std::move(v));
  }

 private:
  const Value& def(ValueId id) const { return r_.emitted(id); }
  bool is_const(ValueId id, float c) const {
    auto k = r_.constant(id);
    return k && same_bits(*k, c);
  }
  bool is_zero(ValueId id) const {
    auto k = r_.constant(id);
    return k && *k == 0.0f;
  }
  // Rewrites to an existing value.
  ValueId to(std::string_view rule, ValueId id) {
    counters_.add(rule);
    return id;
  }
  // Rewrites to a new value, itself simplified further.
  ValueId to(std::string_view rule, Value v) {
    counters_.add(rule);
    return simplify(std::move(v));
  }
  ValueId to_const(std::string_view rule, float c) {
    counters_.add(rule);
    return r_.emit_const(c);
  }

  // The unary rules. Those named by an op kind are written against the op table's facts
  // (ir/ops.def): even kinds ignore a sign change, projections leave values already in their
  // range; so a new kind with those flags is simplified without a rule of its own.
  ValueId simplify_unary(Value v) {
    const Op op = v.op;
    const ValueId x = v.args[0];
    const Value& dx = def(x);
    if (op == Op::Neg && dx.op == Op::Neg) return to("neg neg x -> x", dx.args[0]);
    if (ir::has_flags(op, ir::OpFlag::Even) && (dx.op == Op::Neg || dx.op == Op::Abs))
      return to(rule_name("{0}(neg|abs x) -> {0} x (even)", op), Value{op, {dx.args[0]}, {}});
    if (ir::keeps_range_of(op, dx.op)) return to(rule_name("{0} y -> y (y in {0}'s range)", op), x);
    return r_.emit(std::move(v));
  }

  // A rule's counter name for kind `op`: `pattern` with {0} its keyword.
  static std::string rule_name(std::string_view pattern, Op op) {
    return fmt::format(fmt::runtime(pattern), ir::op_name(op));
  }

  ValueId simplify_binary(Value v) {
    const Op op = v.op;
    const ValueId x = v.args[0], y = v.args[1];
    const bool commutative = ir::is_commutative(op);
    if (auto e = ir::op_info(op).identity) {
      if (is_const(y, *e)) return to("x op identity -> x", x);
      if (commutative && is_const(x, *e)) return to("x op identity -> x", y);
    }
    if (ir::has_flags(op, ir::OpFlag::Idempotent) && x == y) return to(rule_name("{0}(x, x) -> x", op), x);
    if (op == Op::Mul && is_const(y, -1.0f)) return to("x*(-1) -> neg x", Value{Op::Neg, {x}, {}});
    if (op == Op::Mul && is_const(x, -1.0f)) return to("x*(-1) -> neg x", Value{Op::Neg, {y}, {}});
    if (op == Op::Div && is_const(y, -1.0f)) return to("x/(-1) -> neg x", Value{Op::Neg, {x}, {}});
    if (op == Op::Sub && is_const(x, -0.0f)) return to("(-0)-x -> neg x", Value{Op::Neg, {y}, {}});
    if (op == Op::Add && def(y).op == Op::Neg) return to("x+neg y -> x-y", Value{Op::Sub, {x, def(y).args[0]}, {}});
    if (op == Op::Add && def(x).op == Op::Neg) return to("x+neg y -> x-y", Value{Op::Sub, {y, def(x).args[0]}, {}});
    if (op == Op::Sub && def(y).op == Op::Neg) return to("x-neg y -> x+y", Value{Op::Add, {x, def(y).args[0]}, {}});
    if (op == Op::Mul && x == y) return to("x*x -> square x", Value{Op::Square, {x}, {}});
    if (op == Op::Div)
      if (auto c = r_.constant(y))
        if (auto inverse = exact_reciprocal(*c))
          return to("x/2^k -> x*2^-k", Value{Op::Mul, {x, r_.emit_const(*inverse)}, {}});
    if (fast_math_) {
      if (op == Op::Mul && (is_zero(x) || is_zero(y))) return to_const("fast-math: x*0 -> 0", 0.0f);
      if (op == Op::Add && is_zero(y)) return to("fast-math: x+0 -> x", x);
      if (op == Op::Add && is_zero(x)) return to("fast-math: x+0 -> x", y);
      if (op == Op::Sub && is_zero(y)) return to("fast-math: x-0 -> x", x);
      if (op == Op::Sub && x == y) return to_const("fast-math: x-x -> 0", 0.0f);
    }
    return r_.emit(std::move(v));
  }

  ValueId simplify_affine(Value v) {
    const ValueId x = v.args[0];
    const float a = ir::affine_scale(v), b = ir::affine_shift(v);
    const Value& dx = def(x);
    if (same_bits(b, -0.0f) && same_bits(a, 1.0f)) return to("affine(x; 1, -0) -> x", x);
    if (same_bits(b, -0.0f) && same_bits(a, -1.0f)) return to("affine(x; -1, -0) -> neg x", Value{Op::Neg, {x}, {}});
    if (dx.op == Op::Neg) return to("affine(neg x; a, b) -> affine(x; -a, b)", Value{Op::Affine, {dx.args[0]}, {-a, b}});
    if (dx.op == Op::Affine && same_bits(ir::affine_shift(dx), -0.0f) && std::fabs(a) == 1.0f)
      return to("affine(affine(x; a, -0); +-1, b) -> affine(x; +-a, b)",
                Value{Op::Affine, {dx.args[0]}, {a * ir::affine_scale(dx), b}});
    if (fast_math_) {
      if (a == 0.0f) return to_const("fast-math: affine(x; 0, b) -> b", b);
      if (dx.op == Op::Affine) {
        const float a1 = ir::affine_scale(dx), b1 = ir::affine_shift(dx);
        return to("fast-math: affine(affine(x)) -> affine(x)", Value{Op::Affine, {dx.args[0]}, {a * a1, a * b1 + b}});
      }
    }
    return r_.emit(std::move(v));
  }

  ValueId simplify_dot(Value v) {
    if (v.args.size() == 1)
      return to("dot of one term -> affine", Value{Op::Affine, {v.args[0]}, {v.imms[0], ir::dot_bias(v)}});
    bool changed = false;
    for (std::size_t i = 0; i < v.args.size(); ++i) {
      const Value& d = def(v.args[i]);
      if (d.op != Op::Neg) continue;
      v.args[i] = d.args[0];
      v.imms[i] = -v.imms[i];
      changed = true;
    }
    if (changed) counters_.add("dot term [neg v, w] -> [v, -w]");
    return r_.emit(std::move(v));
  }

  Rebuilder& r_;
  bool fast_math_;
  Counters& counters_;
};

}  // namespace

void simplify(ir::Module& m, const PassOptions& options, Counters& counters) {
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) { return Simplifier(r, options, counters).simplify(r.renamed(id)); });
}

}  // namespace evoc::passes
