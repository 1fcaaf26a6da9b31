// The GPU half of lowering (NVPTX): the kernel ABI of options.h as a CUDA kernel with one
// thread per row. Rows are walked by a grid-stride loop
//
//   for (r = blockIdx.x * blockDim.x + threadIdx.x; r < n; r += blockDim.x * gridDim.x)
//     load row r (global address space), evaluate the graph on floats, store its outputs
//
// The graph comes from graph_emitter.h, the same emitter as the CPU kernels, so every row
// executes the interpreter's IEEE operations: the back end is kept from contracting a*b+c into
// FMA (mul.rn / add.rn in the PTX), division and square root are the correctly rounded ones,
// denormals are kept (no .ftz), and exp/log/tanh/sigmoid are the project's own polynomials.
// Private to codegen/.
#pragma once

#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// Adds the CUDA kernel of `m` under `symbol` to `out` (whose triple is an NVPTX one).
llvm::Function* lower_ptx_kernel(const ir::Module& m, llvm::Module& out, const std::string& symbol);

}  // namespace evoc::codegen
