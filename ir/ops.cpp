// Tables derived from ops.def.
#include "ir/ops.h"

#include <array>
#include <limits>

namespace evoc::ir {
namespace {

// Right identities: x op e == x bit for bit for every x (including NaN, Inf and -0).
//   add: x + (-0) == x (x + +0 turns -0 into +0, so +0 is not an identity)
//   sub: x - (+0) == x;  mul: x * 1 == x;  div: x / 1 == x.
std::optional<float> identity_of(Op op) {
  switch (op) {
    case Op::Add:
      return -0.0f;
    case Op::Sub:
      return 0.0f;
    case Op::Mul:
      return 1.0f;
    case Op::Div:
      return 1.0f;
    case Op::Min:
      return std::numeric_limits<float>::infinity();
    case Op::Max:
      return -std::numeric_limits<float>::infinity();
    default:
      return std::nullopt;
  }
}

// Absorbing elements in real arithmetic (not exact in IEEE: 0 * Inf is NaN).
std::optional<float> absorbing_of(Op op) {
  switch (op) {
    case Op::Mul:
      return 0.0f;
    case Op::Min:
      return -std::numeric_limits<float>::infinity();
    case Op::Max:
      return std::numeric_limits<float>::infinity();
    default:
      return std::nullopt;
  }
}

const std::array<OpInfo, kNumOps>& table() {
  static const std::array<OpInfo, kNumOps> rows = {{
#define EVOC_OP(Enum, name, arity, flags) \
  OpInfo{Op::Enum, name, arity, flags, identity_of(Op::Enum), absorbing_of(Op::Enum)},
#include "ir/ops.def"
#undef EVOC_OP
  }};
  return rows;
}

}  // namespace

const OpInfo& op_info(Op op) { return table()[static_cast<std::size_t>(op)]; }

std::string_view op_name(Op op) { return op_info(op).name; }

std::optional<Op> op_from_name(std::string_view name) {
  for (const OpInfo& row : table())
    if (row.name == name) return row.op;
  return std::nullopt;
}

}  // namespace evoc::ir
