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
#include <vector>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc::codegen {

/// What emit_artifact produces.
enum class EmitKind { Llvm, Asm, Object, Header, SharedObject };

/// The kind for an --emit name ("llvm", "asm", "obj", "header", "so"); nullopt otherwise.
std::optional<EmitKind> emit_kind_from_name(std::string_view name);
/// Every --emit name, comma separated (for help texts).
std::string emit_kind_names();

/// The bytes of one artifact and the time its compilation took (zero for a header).
struct Artifact {
  std::string data;
  CompileTimes times;
};

/// The words of a command line held in a variable such as CC ("ccache gcc" -> ccache, gcc), split
/// at blanks outside single or double quotes, as a shell would (without expansions).
std::vector<std::string> split_command(std::string_view command);

/// Compiles `m` to an artifact of `kind`. Throws evoc::Error (a failing `cc` included).
Artifact emit_artifact(const ir::Module& m, EmitKind kind, const CodegenOptions& options = {});

}  // namespace evoc::codegen
