// AOT emission (see aot.h). The shared object is the object file linked by `cc -shared` in a
// private temporary directory; its bytes are returned like every other artifact, so that the
// caller writes every output the same (atomic) way.
#include "codegen/aot.h"

#include <array>
#include <filesystem>

#include "codegen/header.h"
#include "codegen/pipeline.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/process.h"

namespace evoc::codegen {
namespace {

constexpr std::array<std::pair<std::string_view, EmitKind>, 5> kEmitKinds{{
    {"llvm", EmitKind::Llvm},
    {"asm", EmitKind::Asm},
    {"obj", EmitKind::Object},
    {"header", EmitKind::Header},
    {"so", EmitKind::SharedObject},
}};

std::string link_shared_object(const std::string& object, const std::string& triple) {
  TempDir dir;
  const auto obj = dir.path() / "kernel.o", so = dir.path() / "kernel.so", log = dir.path() / "cc.log";
  write_file_atomic(obj.string(), object);
  std::vector<std::string> argv{c_compiler(), "-shared", "-o", so.string(), obj.string()};
  const int status = run_process(argv, log.string());
  if (status != 0) {
    std::string output;
    try {
      output = read_file(log.string());
    } catch (const Error&) {
    }
    throw Error("linking the shared object for " + triple + " with '" + argv[0] + " -shared' failed (exit " +
                std::to_string(status) + ")" + (output.empty() ? "" : ":\n" + output));
  }
  return read_file(so.string());
}

}  // namespace

std::optional<EmitKind> emit_kind_from_name(std::string_view name) {
  for (const auto& [n, kind] : kEmitKinds)
    if (n == name) return kind;
  return std::nullopt;
}

std::string emit_kind_names() {
  std::string names;
  for (const auto& [name, kind] : kEmitKinds) names += (names.empty() ? "" : ", ") + std::string(name);
  return names;
}

Artifact emit_artifact(const ir::Module& m, EmitKind kind, const CodegenOptions& options) {
  if (kind == EmitKind::Header) return {kernel_header(m, kernel_symbol(m, options)), {}};
  LlvmKernel k = build_llvm_kernel(m, options);
  Artifact a;
  switch (kind) {
    case EmitKind::Llvm: a.data = llvm_text(k); break;
    case EmitKind::Asm: a.data = emit_machine_code(k, llvm::CodeGenFileType::AssemblyFile, options.time_passes); break;
    case EmitKind::Object: a.data = emit_machine_code(k, llvm::CodeGenFileType::ObjectFile, options.time_passes); break;
    case EmitKind::SharedObject:
      a.data = link_shared_object(emit_machine_code(k, llvm::CodeGenFileType::ObjectFile, options.time_passes),
                                  k.machine->getTargetTriple().str());
      break;
    case EmitKind::Header: break;
  }
  a.times = k.times;
  return a;
}

}  // namespace evoc::codegen
