// The compilation pipeline shared by the JIT and the AOT emitters, one timed phase per step:
// IR generation (lowering), LLVM optimisation, machine code. Private to codegen/.
#pragma once

#include <memory>
#include <string>

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// A kernel as optimised LLVM IR, with the machine it is built for.
struct LlvmKernel {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::Module> module;
  std::unique_ptr<llvm::TargetMachine> machine;
  std::string symbol;
  unsigned width = 0;  ///< rows per SIMD step
  CompileTimes times;
};

/// Verifies `m`, lowers it and runs LLVM's O0..O3 pipeline on the result. Throws evoc::Error.
LlvmKernel build_llvm_kernel(const ir::Module& m, const CodegenOptions& options);

/// Runs the back end on `k`: an object file or assembly text. Adds the machine-code time (and
/// the back end's pass timings when requested) to k.times.
std::string emit_machine_code(LlvmKernel& k, llvm::CodeGenFileType type, bool time_passes);

/// The textual LLVM IR of `k`.
std::string llvm_text(const LlvmKernel& k);

}  // namespace evoc::codegen
