// Op kinds and their static properties, derived from ir/ops.def.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace evoc::ir {

/// Bit flags of an op kind (see ops.def). "Bit for bit" leaves NaN payloads aside.
namespace OpFlag {
inline constexpr unsigned Commutative = 1u << 0;  ///< op(a, b) == op(b, a), bit for bit
inline constexpr unsigned Associative = 1u << 1;  ///< mathematically associative (not exact in f32)
inline constexpr unsigned Idempotent = 1u << 2;   ///< op(x, x) == x, bit for bit
inline constexpr unsigned Even = 1u << 3;         ///< f(-x) == f(x), bit for bit (so f(abs x) == f(x))
inline constexpr unsigned NonNegative = 1u << 4;  ///< the result is never below zero (-0 possible)
inline constexpr unsigned SignClear = 1u << 5;    ///< the result's sign bit is clear (so NonNegative too)
inline constexpr unsigned Projection = 1u << 6;   ///< f(y) == y, bit for bit, for every y in f's range
                                                  ///< (NonNegative or SignClear): f clamps onto it
}  // namespace OpFlag

/// Every op kind of the IR.
enum class Op : uint8_t {
#define EVOC_OP(Enum, name, arity, immediates, flags, identity, absorbing) Enum,
#include "ir/ops.def"
#undef EVOC_OP
};

/// Number of op kinds.
inline constexpr int kNumOps = 0
#define EVOC_OP(Enum, name, arity, immediates, flags, identity, absorbing) +1
#include "ir/ops.def"
#undef EVOC_OP
    ;

/// Static description of one op kind: its row of ops.def.
struct OpInfo {
  Op op;
  std::string_view name;  ///< keyword in the text form
  int arity;              ///< 0 leaf, 1 unary, 2 binary, -1 variadic
  int immediates;         ///< float immediates per value; -1: one per operand plus one
  unsigned flags;
  std::optional<float> identity;  ///< x op identity == x exactly (binary ops; e.g. mul 1, sub 0 on the right)
  std::optional<float>
      absorbing;  ///< x op absorbing == absorbing in real arithmetic (e.g. mul 0; not IEEE-exact)
};

/// The table row of `op`.
const OpInfo& op_info(Op op);
/// The keyword of `op` ("add", "dot", ...).
std::string_view op_name(Op op);
/// Looks up a keyword; nullopt if it names no op.
std::optional<Op> op_from_name(std::string_view name);

/// Whether `op`'s row has every flag of `flags`.
inline bool has_flags(Op op, unsigned flags) { return (op_info(op).flags & flags) == flags; }
inline bool is_commutative(Op op) { return has_flags(op, OpFlag::Commutative); }
/// An op of one operand and no immediates (neg, tanh, ...; not affine).
inline bool is_unary(Op op) { return op_info(op).arity == 1 && op_info(op).immediates == 0; }
inline bool is_binary(Op op) { return op_info(op).arity == 2; }
inline bool is_leaf(Op op) { return op_info(op).arity == 0; }
/// Whether a value of kind `op` is never below zero (NaN aside; -0 possible).
inline bool never_negative(Op op) { return op_info(op).flags & (OpFlag::NonNegative | OpFlag::SignClear); }
/// Whether a value of kind `op` never has its sign bit set (NaN aside).
inline bool sign_clear(Op op) { return has_flags(op, OpFlag::SignClear); }
/// Whether unary `f` leaves every value of kind `y` as it is: f is a Projection onto a range
/// that holds y's (never negative, or sign clear).
inline bool keeps_range_of(Op f, Op y) {
  if (!has_flags(f, OpFlag::Projection)) return false;
  return sign_clear(f) ? sign_clear(y) : never_negative(y);
}

/// Number of float immediates a value of kind `op` with `n_args` operands carries.
inline std::size_t immediate_count(Op op, std::size_t n_args) {
  const int n = op_info(op).immediates;
  return n < 0 ? n_args + 1 : static_cast<std::size_t>(n);
}

}  // namespace evoc::ir
