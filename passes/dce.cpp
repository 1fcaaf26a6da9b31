// dce: dead-value elimination. Removes every value that no output depends on (inputs are
// always kept: they are the module's signature). Other passes leave dead values behind
// (folded operands, merged duplicates, dropped dot terms); this pass is where they go.
//
// Exactness: exact. Values are pure, so removing unused ones cannot change any output.
#include <vector>

#include "ir/liveness.h"
#include "passes/passes.h"

namespace evoc::passes {

void eliminate_dead_values(ir::Module& m, const PassOptions&, Counters& counters) {
  const std::vector<bool> live = ir::live_values(m);
  std::size_t dead = 0;
  for (std::size_t id = m.n_in(); id < m.values.size(); ++id) dead += !live[id];
  if (dead == 0) return;
  ir::compact(m, live);
  counters.add("dead values removed", static_cast<double>(dead));
}

}  // namespace evoc::passes
