// Ahead-of-time compilation: an ir::Module becomes a file a service can build against,
// at every stage of the pipeline (`evoc compile --emit=...`):
//   llvm    optimised LLVM IR text          asm     assembly text
//   obj     relocatable object (PIC)        header  C header declaring the kernel and constants
//   so      shared object (linked by the system C compiler driver `cc -shared`)
// An object has no undefined symbols: linking it needs no evoc, LLVM or even libm.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// What emit_artifact produces.
enum class EmitKind { Llvm, Asm, Object, Header, SharedObject };

/// The kind for an --emit name ("llvm", "asm", "obj", "header", "so"); nullopt otherwise.
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

/// Compiles `m` to an artifact of `kind`. Throws evoc::Error (a failing `cc` included).
Artifact emit_artifact(const ir::Module& m, EmitKind kind, const CodegenOptions& options = {});

}  // namespace evoc::codegen
