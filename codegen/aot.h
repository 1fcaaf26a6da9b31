// Ahead-of-time compilation: an ir::Module becomes a file a service can build against,
// at every stage of the pipeline (`evoc compile --emit=...`):
//   llvm    optimised LLVM IR text          asm     assembly text
//   obj     relocatable object (PIC)        header  C header declaring the kernel and constants
//   so      shared object (linked by the system C compiler driver `cc -shared`)
//   ptx     a CUDA kernel as PTX text (NVPTX back end; one thread per row, see ptx.h)
//   cubin   that PTX assembled by CUDA's `ptxas` for one GPU architecture
//   c       portable C99 source of the kernel (no LLVM involved, see c_emitter.h)
// An object has no undefined symbols: linking it needs no evoc, LLVM or even libm.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// What emit_artifact produces.
enum class EmitKind { Llvm, Asm, Object, Header, SharedObject, Ptx, Cubin, C };

/// The kind for an --emit name ("llvm", "asm", "obj", "header", "so", "ptx", "cubin", "c"); nullopt
/// otherwise.
std::optional<EmitKind> emit_kind_from_name(std::string_view name);
/// Every --emit name, comma separated (for help texts).
std::string emit_kind_names();

/// The symbol of the constant `uint64_t` that every object and shared object of a kernel defines
/// beside it: ir::content_hash of its module (so that a library can be checked against a model).
inline std::string content_hash_symbol(std::string_view kernel_symbol) {
  return std::string(kernel_symbol) + "_content_hash";
}

/// The bytes of one artifact and the time its compilation took (zero for a header).
struct Artifact {
  std::string data;
  CompileTimes times;
};

/// The GPU architecture of PTX and cubin artifacts when CodegenOptions::cpu names none.
inline constexpr const char* kDefaultGpuArch = "sm_80";

/// `options` retargeted to CUDA GPUs (the NVPTX triple, `options.cpu` or kDefaultGpuArch as the
/// architecture, a PTX ISA version that architecture needs). Throws evoc::Error for an
/// architecture that is not `sm_NN`.
CodegenOptions gpu_codegen_options(const CodegenOptions& options);

/// The `ptxas` to run: $PTXAS, else `ptxas` on PATH, else CUDA's usual place
/// (/usr/local/cuda/bin/ptxas); empty when there is none.
std::string find_ptxas();

/// Assembles PTX text for `arch` (e.g. "sm_90") with `ptxas`; returns the cubin. Throws
/// evoc::Error when ptxas is missing or rejects the PTX (with its messages).
std::string assemble_ptx(const std::string& ptx, const std::string& arch);


/// Compiles `m` to an artifact of `kind`. Throws evoc::Error (a failing `cc` included).
Artifact emit_artifact(const ir::Module& m, EmitKind kind, const CodegenOptions& options = {});

}  // namespace evoc::codegen
