// Lowering of an ir::Module to one LLVM function with the kernel ABI (see options.h).
// Private to codegen/.
#pragma once

#include <string>

#include <llvm/IR/Function.h>
#include <llvm/IR/Module.h>

#include "ir/module.h"

namespace evoc::codegen {

/// What the lowering needs to know besides the module.
struct LowerOptions {
  std::string symbol;      ///< name of the kernel function
  unsigned width = 8;      ///< rows per SIMD step (lanes); 1 gives scalar code
  bool fast_math = false;  ///< put reassoc + contract flags on the floating-point operations
  bool native_floor = true;  ///< the target has a floor instruction (see LlvmArith)
  /// Move rows into lanes and back through stack tiles with small loops instead of unrolled
  /// in-register transposes, and emit no scalar copy of the body: several times less code, so
  /// several times faster to compile, for kernels that are slower on small models.
  bool tile_loops = false;
};

/// Adds the kernel of `m` to `out` and returns it. The kernel walks the rows W at a time, one
/// row per lane, reading and writing whole rows with contiguous vector loads and stores; in the
/// last, partial step the spare lanes repeat the last row and are not stored, so memory outside
/// the caller's rows is never touched. Small modules also get a scalar copy of the body for
/// batches of a few rows (batch 1 above all). With `tile_loops`, rows move through stack tiles
/// instead.
llvm::Function* lower_kernel(const ir::Module& m, llvm::Module& out, const LowerOptions& options);

}  // namespace evoc::codegen
