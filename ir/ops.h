// Op kinds and their static properties, derived from ir/ops.def.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace evoc::ir {

/// Bit flags of an op kind (see ops.def).
namespace OpFlag {
inline constexpr unsigned Commutative = 1u << 0;  ///< op(a, b) == op(b, a), bit for bit (NaN payloads aside)
inline constexpr unsigned Associative = 1u << 1;  ///< mathematically associative (not exact in f32)
inline constexpr unsigned Immediates = 1u << 2;   ///< carries float immediates (const, affine, dot)
}  // namespace OpFlag

/// Every op kind of the IR.
enum class Op : uint8_t {
#define EVOC_OP(Enum, name, arity, flags) Enum,
#include "ir/ops.def"
#undef EVOC_OP
};

/// Number of op kinds.
inline constexpr int kNumOps = 0
#define EVOC_OP(Enum, name, arity, flags) +1
#include "ir/ops.def"
#undef EVOC_OP
    ;

/// Static description of one op kind.
struct OpInfo {
  Op op;
  std::string_view name;  ///< keyword in the text form
  int arity;              ///< 0 leaf, 1 unary, 2 binary, -1 variadic
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

inline bool is_commutative(Op op) { return op_info(op).flags & OpFlag::Commutative; }
inline bool is_unary(Op op) { return op_info(op).arity == 1 && op != Op::Affine; }
inline bool is_binary(Op op) { return op_info(op).arity == 2; }
inline bool is_leaf(Op op) { return op_info(op).arity == 0; }

/// Number of float immediates a value of kind `op` with `n_args` operands carries.
inline std::size_t immediate_count(Op op, std::size_t n_args) {
  switch (op) {
    case Op::Const:
      return 1;
    case Op::Affine:
      return 2;
    case Op::Dot:
      return n_args + 1;
    default:
      return 0;
  }
}

}  // namespace evoc::ir
