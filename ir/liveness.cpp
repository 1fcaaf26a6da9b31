// Liveness (see liveness.h): one backward sweep, since operands come before their users.
#include "ir/liveness.h"

namespace evoc::ir {

std::vector<bool> live_values(const Module& m) {
  std::vector<bool> live(m.values.size(), false);
  for (ValueId out : m.outputs) live[out] = true;
  for (std::size_t id = m.values.size(); id-- > 0;)
    if (live[id])
      for (ValueId arg : m.values[id].args) live[arg] = true;
  return live;
}

}  // namespace evoc::ir
