// AOT emission (see aot.h). The shared object is the object file linked by `cc -shared` in a
// private temporary directory; its bytes are returned like every other artifact, so that the
// caller writes every output the same (atomic) way.
#include "codegen/aot.h"

#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "codegen/c_emitter.h"
#include "codegen/header.h"
#include "codegen/pipeline.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/process.h"

namespace evoc::codegen {
namespace {

constexpr std::array<std::pair<std::string_view, EmitKind>, 8> kEmitKinds{{
    {"llvm", EmitKind::Llvm},
    {"asm", EmitKind::Asm},
    {"obj", EmitKind::Object},
    {"header", EmitKind::Header},
    {"so", EmitKind::SharedObject},
    {"ptx", EmitKind::Ptx},
    {"cubin", EmitKind::Cubin},
    {"c", EmitKind::C},
}};

std::string link_shared_object(const std::string& object, const std::string& triple) {
  TempDir dir;
  const auto obj = dir.path() / "kernel.o", so = dir.path() / "kernel.so";
  write_file_atomic(obj.string(), object);
  // CC may hold a command with arguments ("ccache gcc", "gcc -m64"), as make and CMake allow.
  std::vector<std::string> argv = c_compiler();
  const std::string shown = command_line(argv);
  for (const std::string& a : {std::string("-shared"), std::string("-o"), so.string(), obj.string()}) argv.push_back(a);
  const auto [status, output] = run_process(argv);
  if (status != 0)
    throw Error("linking the shared object for " + triple + " with '" + shown + " -shared' failed (exit " +
                std::to_string(status) + ")" +
                (output.empty() ? " and printed nothing" : ":\n" + output));
  return read_file(so.string());
}

/// The number of an `sm_NN` architecture (90 for sm_90, also for sm_90a); 0 if it is not one.
int sm_number(const std::string& arch) {
  if (arch.size() < 5 || arch.compare(0, 3, "sm_") != 0) return 0;
  int number = 0;
  std::size_t i = 3;
  for (; i < arch.size() && std::isdigit(static_cast<unsigned char>(arch[i])); ++i) number = number * 10 + (arch[i] - '0');
  const bool suffix_ok = i == arch.size() || (i + 1 == arch.size() && arch[i] == 'a');
  return i > 3 && suffix_ok ? number : 0;
}

}  // namespace

CodegenOptions gpu_codegen_options(const CodegenOptions& options) {
  CodegenOptions gpu = options;
  gpu.triple = "nvptx64-nvidia-cuda";
  gpu.cpu = options.cpu.empty() ? kDefaultGpuArch : options.cpu;
  const int sm = sm_number(gpu.cpu);
  if (sm < 52) throw Error("'" + gpu.cpu + "' is not a CUDA GPU architecture (expected sm_NN, NN >= 52, e.g. sm_90)");
  // The oldest PTX ISA that has the architecture (LLVM would otherwise write PTX 6.0 for any).
  if (gpu.features.empty()) gpu.features = sm >= 90 ? "+ptx78" : sm >= 89 ? "+ptx78" : sm >= 80 ? "+ptx70" : "+ptx64";
  gpu.vector_width = 0;
  gpu.fast_math = false;  // GPU kernels keep IEEE semantics: no contraction, no approximations
  return gpu;
}

std::string find_ptxas() {
  namespace fs = std::filesystem;
  if (const char* env = std::getenv("PTXAS"); env && *env) return env;
  if (const char* path = std::getenv("PATH")) {
    std::string_view rest = path;
    while (!rest.empty()) {
      const std::size_t colon = rest.find(':');
      const fs::path candidate = fs::path(std::string(rest.substr(0, colon))) / "ptxas";
      if (!candidate.parent_path().empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
      rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    }
  }
  return ::access("/usr/local/cuda/bin/ptxas", X_OK) == 0 ? "/usr/local/cuda/bin/ptxas" : "";
}

std::string assemble_ptx(const std::string& ptx, const std::string& arch) {
  const std::string ptxas = find_ptxas();
  if (ptxas.empty()) throw Error("cannot assemble PTX: ptxas not found (set PTXAS or put CUDA's bin directory on PATH)");
  TempDir dir;
  const auto in = dir.path() / "kernel.ptx", out = dir.path() / "kernel.cubin";
  write_file_atomic(in.string(), ptx);
  const auto [status, output] = run_process({ptxas, "-arch=" + arch, "-o", out.string(), in.string()});
  if (status != 0) {
    throw Error("ptxas rejected the PTX for " + arch + " (exit " + std::to_string(status) + ")" +
                (output.empty() ? "" : ":\n" + output));
  }
  return read_file(out.string());
}

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
  if (kind == EmitKind::C) return {emit_c(m, kernel_symbol(m, options)), {}};
  const bool gpu = kind == EmitKind::Ptx || kind == EmitKind::Cubin;
  LlvmKernel k = build_llvm_kernel(m, gpu ? gpu_codegen_options(options) : options);
  Artifact a;
  switch (kind) {
    case EmitKind::Llvm: a.data = llvm_text(k); break;
    case EmitKind::Asm: a.data = emit_machine_code(k, llvm::CodeGenFileType::AssemblyFile, options.time_passes); break;
    case EmitKind::Object: a.data = emit_machine_code(k, llvm::CodeGenFileType::ObjectFile, options.time_passes); break;
    case EmitKind::SharedObject:
      a.data = link_shared_object(emit_machine_code(k, llvm::CodeGenFileType::ObjectFile, options.time_passes),
                                  k.machine->getTargetTriple().str());
      break;
    case EmitKind::Ptx: a.data = emit_machine_code(k, llvm::CodeGenFileType::AssemblyFile, options.time_passes); break;
    case EmitKind::Cubin:
      a.data = assemble_ptx(emit_machine_code(k, llvm::CodeGenFileType::AssemblyFile, options.time_passes),
                            k.machine->getTargetCPU().str());
      break;
    case EmitKind::Header:
    case EmitKind::C: break;
  }
  a.times = k.times;
  return a;
}

}  // namespace evoc::codegen
