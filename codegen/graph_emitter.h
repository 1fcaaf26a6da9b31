// The target-independent half of lowering: the values of an ir::Module's graph as LLVM
// instructions over W lanes (plain floats when W is 1), through ir/scalar.h over LlvmArith, so
// that every target executes the interpreter's exact sequence of IEEE operations. Where rows
// come from and go to (vector steps and transposes on CPUs, one thread per row on GPUs) is the
// caller's part: see lower.cpp (CPU) and ptx.cpp (NVPTX). Private to codegen/.
#pragma once

#include <functional>
#include <vector>

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/IRBuilder.h>

#include "codegen/llvm_arith.h"
#include "ir/liveness.h"
#include "ir/module.h"

namespace evoc::codegen {

/// Values that an output depends on (only those are lowered).
using ir::live_values;

/// How the graph is emitted.
struct GraphShape {
  unsigned width = 1;        ///< lanes; 1 gives scalar code
  bool native_floor = true;  ///< see LlvmArith
  /// Accumulate each dot's terms as their operands appear instead of all at the dot (the same
  /// operations in the same order per dot; only their place among the other ops changes).
  bool stream_dots = false;
};

/// Emits `op` (a unary kind) applied to `x`: the default is ir::scalar::unary inline; a target
/// may instead call an outlined helper.
using UnaryEmitter = llvm::function_ref<llvm::Value*(LlvmArith&, ir::Op, llvm::Value*)>;

/// Where constants come from: empty gives immediates; a target may load them from a table
/// instead (huge CPU kernels, see lower.cpp).
using ConstantSource = std::function<llvm::Value*(float)>;

/// Called with (output index, value) as soon as each output is computed, so that outputs need
/// not all stay live to the end; empty: emit_graph returns the outputs instead.
using OutputSink = std::function<void(std::size_t, llvm::Value*)>;

/// A part of the graph, for kernels lowered in parts (huge CPU kernels, each part a function of
/// its own: see lower.cpp). The part computes the live values with ids in [first, end), except
/// inputs and constants; the inputs, constants and values of earlier parts that it reads are
/// materialised on first use in the part: constants as usual, the others from `read`.
struct GraphPart {
  std::size_t first = 0, end = 0;
  std::function<llvm::Value*(ir::ValueId)> read;           ///< an input, or a value of an earlier part
  std::function<void(ir::ValueId, llvm::Value*)> defined;  ///< called with each value the part computes
};

/// Lowers every live value of `m` at the builder's insertion point, with input i equal to
/// `inputs[i]` (null for dead inputs); returns the output values in order (none when
/// `store_output` takes them). With `part`, lowers only that part (`inputs` is not read,
/// `store_output` is required and is called for the outputs with ids in the part, and
/// shape.stream_dots must be off).
std::vector<llvm::Value*> emit_graph(llvm::IRBuilder<>& b, const ir::Module& m, const std::vector<bool>& live,
                                     const GraphShape& shape, const std::vector<llvm::Value*>& inputs,
                                     UnaryEmitter unary, const ConstantSource& constants = {},
                                     const OutputSink& store_output = {}, const GraphPart* part = nullptr);

}  // namespace evoc::codegen
