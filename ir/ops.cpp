// The op table (see ops.h), one OpInfo per row of ops.def.
#include "ir/ops.h"

#include <array>
#include <limits>

namespace evoc::ir {
namespace {

// The names the rows of ops.def are written with.
using namespace OpFlag;
constexpr std::nullopt_t none = std::nullopt;
constexpr float inf = std::numeric_limits<float>::infinity();

const std::array<OpInfo, kNumOps>& table() {
  static const std::array<OpInfo, kNumOps> rows = {{
#define EVOC_OP(Enum, name, arity, immediates, flags, identity, absorbing) \
  OpInfo{Op::Enum, name, arity, immediates, flags, identity, absorbing},
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
