// Target selection: LLVM's one-time initialisation, the TargetMachine for a set of options
// (host CPU and features by default) and the SIMD width that follows from it.
// Private to codegen/.
#pragma once

#include <memory>

#include <llvm/Target/TargetMachine.h>

#include "codegen/options.h"

namespace evoc::codegen {

/// Registers LLVM's targets, once per process; safe to call from any thread.
void initialize_llvm();

/// A target machine for `options`: the host (its CPU and features) unless a triple or CPU is
/// given. Position-independent code, so that objects link into executables and shared objects.
/// Throws evoc::Error naming an unknown triple or CPU.
std::unique_ptr<llvm::TargetMachine> make_target_machine(const CodegenOptions& options);

/// Rows per SIMD step: `options.vector_width` if set, otherwise 16 with AVX-512, 8 with AVX,
/// 4 elsewhere (SSE, NEON and the like). On Zen 4, whose 512-bit operations take two 256-bit
/// passes, 16 lanes still beat 8 (fewer instructions and loop steps per row; see bench/).
unsigned vector_width(const llvm::TargetMachine& tm, const CodegenOptions& options);

/// True if `tm` rounds floats down in one instruction (x86 with SSE4.1, AArch64), so that
/// llvm.floor never becomes a call to libm.
bool has_native_floor(const llvm::TargetMachine& tm);

}  // namespace evoc::codegen
