// Which values of a module its outputs depend on: the one liveness every consumer uses (the
// code generators lower only these, the C emitter declares only these).
#pragma once

#include <vector>

#include "ir/module.h"

namespace evoc::ir {

/// live[id] is true iff an output depends on value `id` (outputs themselves included).
std::vector<bool> live_values(const Module& m);

}  // namespace evoc::ir
