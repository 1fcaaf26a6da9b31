// The scalar semantics of every op kind, written once for two engines.
//
// Each function is a template over an arithmetic backend `B`. The reference interpreter
// instantiates it with `FloatArith` (plain IEEE f32 on scalars, below); the code generator
// instantiates it with a backend that emits LLVM IR over vectors of rows. Both therefore run
// exactly the same sequence of correctly rounded IEEE operations, so that compiled kernels
// match the interpreter bit for bit without calling libm per lane. Transcendentals (exp, log,
// tanh, sigmoid) are Cephes-style range reduction plus polynomial, accurate to a few ulp.
//
// A backend provides:
//   types  V (f32 value), M (mask), I (i32 value)
//   V c(float)                     constant           I ci(int32_t)
//   V add/sub/mul/div(V, V)        V neg(V) fabs(V) sqrt(V) floor(V)
//   M lt/gt/eq(V, V)   M is_nan(V)  M or_(M, M)  M and_(M, M)
//   V select(M, V, V)  I bits(V)    V from_bits(I) I iadd/isub/iand/ior(I, I)
//   I ishl(I, int)     I isra(I, int)  I ftoi(V) (truncating; argument always in range)  V itof(I)
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "ir/ops.h"

namespace evoc::ir {

/// The scalar backend: IEEE f32 on the host. Compile users with -ffp-contract=off.
struct FloatArith {
  using V = float;
  using M = bool;
  using I = int32_t;
  V c(float v) const { return v; }
  I ci(int32_t v) const { return v; }
  V add(V a, V b) const { return a + b; }
  V sub(V a, V b) const { return a - b; }
  V mul(V a, V b) const { return a * b; }
  V div(V a, V b) const { return a / b; }
  V neg(V a) const { return -a; }
  V fabs(V a) const { return std::fabs(a); }
  V sqrt(V a) const { return std::sqrt(a); }
  V floor(V a) const { return std::floor(a); }
  M lt(V a, V b) const { return a < b; }
  M gt(V a, V b) const { return a > b; }
  M eq(V a, V b) const { return a == b; }
  M is_nan(V a) const { return a != a; }
  M or_(M a, M b) const { return a || b; }
  M and_(M a, M b) const { return a && b; }
  V select(M m, V a, V b) const { return m ? a : b; }
  I bits(V a) const { return std::bit_cast<int32_t>(a); }
  V from_bits(I a) const { return std::bit_cast<float>(a); }
  I iadd(I a, I b) const { return static_cast<I>(static_cast<uint32_t>(a) + static_cast<uint32_t>(b)); }
  I isub(I a, I b) const { return static_cast<I>(static_cast<uint32_t>(a) - static_cast<uint32_t>(b)); }
  I iand(I a, I b) const { return a & b; }
  I ior(I a, I b) const { return a | b; }
  I ishl(I a, int s) const { return static_cast<I>(static_cast<uint32_t>(a) << s); }
  I isra(I a, int s) const { return a >> s; }
  I ftoi(V a) const { return static_cast<I>(a); }
  V itof(I a) const { return static_cast<float>(a); }
};

namespace scalar {

inline constexpr float kInf = std::numeric_limits<float>::infinity();

/// log(x): Cephes logf. log(NaN) = NaN, log(x < 0) = NaN, log(+-0) = -Inf, log(+Inf) = +Inf.
template <class B>
typename B::V log(B& b, typename B::V x) {
  using V = typename B::V;
  using I = typename B::I;
  // A positive finite copy (1 where x is special); subnormals scaled into the normal range.
  typename B::M ok = b.and_(b.gt(x, b.c(0.0f)), b.lt(x, b.c(kInf)));
  V xs = b.select(ok, x, b.c(1.0f));
  typename B::M sub = b.lt(xs, b.c(1.17549435e-38f));
  xs = b.select(sub, b.mul(xs, b.c(8388608.0f)), xs);
  V eadj = b.select(sub, b.c(-23.0f), b.c(0.0f));
  I bits = b.bits(xs);
  I e = b.isub(b.iand(b.isra(bits, 23), b.ci(0xff)), b.ci(126));
  V m = b.from_bits(b.ior(b.iand(bits, b.ci(static_cast<int32_t>(0x807fffff))), b.ci(0x3f000000)));
  V ef = b.add(b.itof(e), eadj);
  typename B::M low = b.lt(m, b.c(0.707106781186547524f));
  ef = b.select(low, b.sub(ef, b.c(1.0f)), ef);
  m = b.select(low, b.sub(b.add(m, m), b.c(1.0f)), b.sub(m, b.c(1.0f)));
  V z = b.mul(m, m);
  V y = b.c(7.0376836292e-2f);
  y = b.add(b.mul(y, m), b.c(-1.1514610310e-1f));
  y = b.add(b.mul(y, m), b.c(1.1676998740e-1f));
  y = b.add(b.mul(y, m), b.c(-1.2420140846e-1f));
  y = b.add(b.mul(y, m), b.c(1.4249322787e-1f));
  y = b.add(b.mul(y, m), b.c(-1.6668057665e-1f));
  y = b.add(b.mul(y, m), b.c(2.0000714765e-1f));
  y = b.add(b.mul(y, m), b.c(-2.4999993993e-1f));
  y = b.add(b.mul(y, m), b.c(3.3333331174e-1f));
  y = b.mul(b.mul(y, m), z);
  y = b.add(y, b.mul(ef, b.c(-2.12194440e-4f)));
  y = b.add(y, b.mul(z, b.c(-0.5f)));
  V r = b.add(m, y);
  r = b.add(r, b.mul(ef, b.c(0.693359375f)));
  r = b.select(b.eq(x, b.c(0.0f)), b.c(-kInf), r);
  r = b.select(b.eq(x, b.c(kInf)), b.c(kInf), r);
  r = b.select(b.lt(x, b.c(0.0f)), b.c(std::numeric_limits<float>::quiet_NaN()), r);
  return b.select(b.is_nan(x), x, r);
}

/// The Cephes expf polynomial around 2^n: exp(xs) for xs = n * ln 2 + r. Shared by exp and tanh.
template <class B>
typename B::V exp_reduced(B& b, typename B::V xs, typename B::V& z) {
  using V = typename B::V;
  z = b.floor(b.add(b.mul(xs, b.c(1.44269504088896341f)), b.c(0.5f)));
  V r = b.sub(xs, b.mul(z, b.c(0.693359375f)));
  r = b.sub(r, b.mul(z, b.c(-2.12194440e-4f)));
  V p = b.c(1.9875691500e-4f);
  p = b.add(b.mul(p, r), b.c(1.3981999507e-3f));
  p = b.add(b.mul(p, r), b.c(8.3334519073e-3f));
  p = b.add(b.mul(p, r), b.c(4.1665795894e-2f));
  p = b.add(b.mul(p, r), b.c(1.6666665459e-1f));
  p = b.add(b.mul(p, r), b.c(5.0000001201e-1f));
  p = b.mul(p, b.mul(r, r));
  p = b.add(p, r);
  return b.add(p, b.c(1.0f));
}

/// exp(x): Cephes expf. Exact special cases: exp(NaN) = NaN, exp(+Inf) = +Inf, exp(-Inf) = 0.
template <class B>
typename B::V exp(B& b, typename B::V x) {
  using V = typename B::V;
  using I = typename B::I;
  // Work on a finite, clamped copy so that every conversion below is in range.
  V xs = b.select(b.is_nan(x), b.c(0.0f), x);
  xs = b.select(b.lt(xs, b.c(-104.0f)), b.c(-104.0f), xs);
  xs = b.select(b.gt(xs, b.c(89.0f)), b.c(89.0f), xs);
  V z;
  V p = exp_reduced(b, xs, z);
  // Scale by 2^n in two normal steps, so that results near overflow and subnormal results
  // are both reachable: n in [-150, 129] splits into halves in [-75, 65].
  I n = b.ftoi(z);
  I n1 = b.isra(n, 1);
  I n2 = b.isub(n, n1);
  V s1 = b.from_bits(b.ishl(b.iadd(n1, b.ci(127)), 23));
  V s2 = b.from_bits(b.ishl(b.iadd(n2, b.ci(127)), 23));
  V result = b.mul(b.mul(p, s1), s2);
  result = b.select(b.gt(x, b.c(88.72283935546875f)), b.c(kInf), result);
  result = b.select(b.lt(x, b.c(-103.97208404541015625f)), b.c(0.0f), result);
  return b.select(b.is_nan(x), x, result);
}

/// tanh(x): odd polynomial below 0.625, 1 - 2 / (exp(2|x|) + 1) with the sign of x above.
/// The exp here is exp() above specialised to its argument: 2|x| is clamped to [0, 20], where
/// n <= 29, so one exact scaling by 2^n replaces the two half steps (the product is the same),
/// and no special case of exp arises (2|x| >= 20 already gives 1 - 2 / (e + 1) == 1). The
/// result equals the unspecialised formula for every x; NaN returns x.
template <class B>
typename B::V tanh(B& b, typename B::V x) {
  using V = typename B::V;
  V ax = b.fabs(x);
  V z = b.mul(x, x);
  V p = b.c(-5.70498872745e-3f);
  p = b.add(b.mul(p, z), b.c(2.06390887954e-2f));
  p = b.add(b.mul(p, z), b.c(-5.37397155531e-2f));
  p = b.add(b.mul(p, z), b.c(1.33314422036e-1f));
  p = b.add(b.mul(p, z), b.c(-3.33332819422e-1f));
  V small = b.add(b.mul(b.mul(p, z), x), x);
  V two_ax = b.add(ax, ax);
  V xs = b.select(b.lt(two_ax, b.c(20.0f)), two_ax, b.c(20.0f));
  V n;
  V e = exp_reduced(b, xs, n);
  e = b.mul(e, b.from_bits(b.ishl(b.iadd(b.ftoi(n), b.ci(127)), 23)));
  V large = b.sub(b.c(1.0f), b.div(b.c(2.0f), b.add(e, b.c(1.0f))));
  // large >= 0: the sign of x is one OR.
  large = b.from_bits(b.ior(b.bits(large), b.iand(b.bits(x), b.ci(std::numeric_limits<int32_t>::min()))));
  V result = b.select(b.lt(ax, b.c(0.625f)), small, large);
  return b.select(b.is_nan(x), x, result);
}

/// sigmoid(x) = 1 / (1 + exp(-x)).
template <class B>
typename B::V sigmoid(B& b, typename B::V x) {
  return b.div(b.c(1.0f), b.add(b.c(1.0f), exp(b, b.neg(x))));
}

/// IEEE 754-2019 minimum / maximum: NaN if either operand is NaN, and -0 < +0.
template <class B>
typename B::V minimum(B& b, typename B::V x, typename B::V y) {
  auto r = b.select(b.lt(x, y), x, y);
  r = b.select(b.eq(x, y), b.from_bits(b.ior(b.bits(x), b.bits(y))), r);
  return b.select(b.or_(b.is_nan(x), b.is_nan(y)), b.add(x, y), r);
}
template <class B>
typename B::V maximum(B& b, typename B::V x, typename B::V y) {
  auto r = b.select(b.gt(x, y), x, y);
  r = b.select(b.eq(x, y), b.from_bits(b.iand(b.bits(x), b.bits(y))), r);
  return b.select(b.or_(b.is_nan(x), b.is_nan(y)), b.add(x, y), r);
}

/// minimum / maximum with one operand a constant `c` that is neither NaN nor zero, the other
/// `v`: the same bits as minimum / maximum(x, y) with (x, y) = (v, c), or (c, v) when
/// `constant_first`. Equal operands then have equal bits (the signed-zero case needs a zero),
/// and only v can be NaN, so one compare-select and the NaN select remain.
template <class B>
typename B::V minmax_constant(B& b, Op op, typename B::V v, float c, bool constant_first) {
  const typename B::V k = b.c(c);
  auto r = b.select(op == Op::Min ? b.lt(v, k) : b.gt(v, k), v, k);
  return b.select(b.is_nan(v), constant_first ? b.add(k, v) : b.add(v, k), r);
}
/// Whether minmax_constant applies to constant `c`.
inline bool minmax_constant_applies(float c) { return !std::isnan(c) && c != 0.0f; }

/// A unary op kind applied to `x`.
template <class B>
typename B::V unary(B& b, Op op, typename B::V x) {
  switch (op) {
    case Op::Neg:
      return b.neg(x);
    case Op::Abs:
      return b.fabs(x);
    case Op::Relu:
      return b.select(b.lt(x, b.c(0.0f)), b.c(0.0f), x);
    case Op::Tanh:
      return tanh(b, x);
    case Op::Sigmoid:
      return sigmoid(b, x);
    case Op::Exp:
      return exp(b, x);
    case Op::Log:
      return log(b, x);
    case Op::Sqrt:
      return b.sqrt(x);
    case Op::Square:
      return b.mul(x, x);
    case Op::IsNan:
      return b.select(b.is_nan(x), b.c(1.0f), b.c(0.0f));
    default:
      break;
  }
  return x;  // unreachable for unary kinds
}

/// A binary op kind applied to `x`, `y`.
template <class B>
typename B::V binary(B& b, Op op, typename B::V x, typename B::V y) {
  switch (op) {
    case Op::Add:
      return b.add(x, y);
    case Op::Sub:
      return b.sub(x, y);
    case Op::Mul:
      return b.mul(x, y);
    case Op::Div:
      return b.div(x, y);
    case Op::Min:
      return minimum(b, x, y);
    case Op::Max:
      return maximum(b, x, y);
    case Op::FillNan:
      return b.select(b.is_nan(x), y, x);
    case Op::Eq:
      return b.select(b.eq(x, y), b.c(1.0f), b.c(0.0f));
    default:
      break;
  }
  return x;  // unreachable for binary kinds
}

/// affine(v; a, c) = a * v + c, rounded twice (never fused).
template <class B>
typename B::V affine(B& b, typename B::V v, float a, float c) {
  return b.add(b.mul(b.c(a), v), b.c(c));
}

/// dot(v; w, bias): the terms t_i = w_i * v_i go round-robin into kDotPartials partial sums,
/// each summed left to right (partial j = t_j + t_{j+P} + t_{j+2P} + ..., P = kDotPartials);
/// the partials that exist are then summed left to right, and the bias is added last:
///   (((p_0 + p_1) + p_2) + p_3) + bias;   no terms: bias;   one term: t_0 + bias.
/// Every operation is rounded; the order is part of the semantics. Four interleaved sums
/// instead of one chain cut the latency of a wide dot (the head of a grown network, hundreds of
/// terms) by four, which is what bounds compiled code on such models.
inline constexpr std::size_t kDotPartials = 4;

/// The running state of one dot, for callers that interleave its terms with other work: add()
/// the terms in order, then finish().
template <class B>
class DotSum {
 public:
  using V = typename B::V;
  void add(B& b, float weight, V v) { add_term(b, b.mul(b.c(weight), v)); }
  /// Adds a term already multiplied out (for back ends whose weights are not immediates: the
  /// trainer's tensors).
  void add_term(B& b, V term) {
    const std::size_t j = terms_ % kDotPartials;
    partial_[j] = terms_ < kDotPartials ? term : b.add(partial_[j], term);
    ++terms_;
  }
  V finish(B& b, float bias) const {
    if (terms_ == 0) return b.c(bias);
    const V sum = partials_sum(b);
    return b.add(sum, b.c(bias));
  }
  /// finish() with a bias that is a value of the back end (the trainer's bias tensor).
  V finish_with(B& b, V bias) const {
    if (terms_ == 0) return bias;
    const V sum = partials_sum(b);
    return b.add(sum, bias);
  }
  std::size_t terms() const { return terms_; }

 private:
  /// The partials that exist, summed left to right (terms_ > 0).
  V partials_sum(B& b) const {
    V sum = partial_[0];
    for (std::size_t j = 1; j < kDotPartials && j < terms_; ++j) sum = b.add(sum, partial_[j]);
    return sum;
  }

  V partial_[kDotPartials]{};
  std::size_t terms_ = 0;
};

template <class B, class Operand>
typename B::V dot(B& b, std::size_t n, Operand&& operand, const float* weights, float bias) {
  DotSum<B> sum;
  for (std::size_t i = 0; i < n; ++i) sum.add(b, weights[i], operand(i));
  return sum.finish(b, bias);
}

}  // namespace scalar

/// Convenience: scalar evaluation on the host for unary and binary kinds.
inline float eval_unary(Op op, float x) {
  FloatArith b;
  return scalar::unary(b, op, x);
}
inline float eval_binary(Op op, float x, float y) {
  FloatArith b;
  return scalar::binary(b, op, x, y);
}

}  // namespace evoc::ir
