// The entry point of every pass, declared from the registry rows in passes/passes.def.
// Each is defined in its own file (passes/dce.cpp, passes/const_fold.cpp, ...), whose header
// comment says what the pass does, why, and how exact it is. Most callers want the pass
// manager (passes/pass_manager.h) instead, which verifies, times and reports around passes.
#pragma once

#include "passes/pass.h"

namespace evoc::passes {

#define EVOC_PASS(name, entry, exactness, fast_math_exactness, description) \
  void entry(ir::Module& m, const PassOptions& options, Counters& counters);
#include "passes/passes.def"
#undef EVOC_PASS

}  // namespace evoc::passes
