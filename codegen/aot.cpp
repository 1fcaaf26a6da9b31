// AOT emission (see aot.h). The shared object is the object file linked by `cc -shared` in a
// private temporary directory; its bytes are returned like every other artifact, so that the
// caller writes every output the same (atomic) way.
#include "codegen/aot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
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

constexpr std::array<std::pair<std::string_view, EmitKind>, 5> kEmitKinds{{
    {"llvm", EmitKind::Llvm},
    {"asm", EmitKind::Asm},
    {"obj", EmitKind::Object},
    {"header", EmitKind::Header},
    {"so", EmitKind::SharedObject},
}};

/// Runs `argv` (searching PATH) with stdout and stderr sent to `log`; returns the exit status.
int run_process(const std::vector<std::string>& argv, const std::filesystem::path& log) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int error = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) throw Error("cannot run '" + argv[0] + "': " + std::strerror(error));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw Error("cannot wait for '" + argv[0] + "'");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string link_shared_object(const std::string& object, const std::string& triple) {
  TempDir dir;
  const auto obj = dir.path() / "kernel.o", so = dir.path() / "kernel.so", log = dir.path() / "cc.log";
  write_file_atomic(obj.string(), object);
  const char* cc = std::getenv("CC");
  std::vector<std::string> argv{cc && *cc ? cc : "cc", "-shared", "-o", so.string(), obj.string()};
  const int status = run_process(argv, log);
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
