// AOT emission (see aot.h). The shared object is the object file linked by `cc -shared` in a
// private temporary directory; its bytes are returned like every other artifact, so that the
// caller writes every output the same (atomic) way.
#include "codegen/aot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "codegen/header.h"
#include "codegen/pipeline.h"
#include "ir/error.h"
#include "ir/file_util.h"

namespace evoc::codegen {
namespace {

constexpr std::array<std::pair<std::string_view, EmitKind>, 7> kEmitKinds{{
    {"llvm", EmitKind::Llvm},
    {"asm", EmitKind::Asm},
    {"obj", EmitKind::Object},
    {"header", EmitKind::Header},
    {"so", EmitKind::SharedObject},
    {"ptx", EmitKind::Ptx},
    {"cubin", EmitKind::Cubin},
}};

/// Runs `argv` (searching PATH); returns its exit status and what it wrote to stdout and
/// stderr, read through a pipe (not a file: with a full temporary directory the reason would
/// be lost with the file).
std::pair<int, std::string> run_process(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw Error(std::string("cannot create a pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (error != 0) {
    ::close(pipe_fds[0]);
    throw Error("cannot run '" + argv[0] + "': " + std::strerror(error));
  }
  std::string output;
  char buf[4096];
  for (;;) {
    const ssize_t got = ::read(pipe_fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (output.size() < (std::size_t{1} << 16)) output.append(buf, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error("cannot wait for '" + argv[0] + "'");
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), output};
}

}  // namespace

std::vector<std::string> split_command(std::string_view command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (std::size_t i = 0; i < command.size(); ++i) {
    const char c = command[i];
    if (quote) {
      if (c == quote) quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < command.size()) word += command[++i];
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == '\\' && i + 1 < command.size()) {
      word += command[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) throw Error("unterminated quote in CC='" + std::string(command) + "'");
  if (in_word) words.push_back(std::move(word));
  return words;
}

namespace {

std::string link_shared_object(const std::string& object, const std::string& triple) {
  TempDir dir;
  const auto obj = dir.path() / "kernel.o", so = dir.path() / "kernel.so";
  write_file_atomic(obj.string(), object);
  // CC may hold a command with arguments ("ccache gcc", "gcc -m64"), as make and CMake allow.
  const char* cc = std::getenv("CC");
  std::vector<std::string> argv = split_command(cc ? cc : "");
  if (argv.empty()) argv = {"cc"};
  const std::string shown = cc && *cc ? std::string(cc) : "cc";
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
    case EmitKind::Header: break;
  }
  a.times = k.times;
  return a;
}

}  // namespace evoc::codegen
