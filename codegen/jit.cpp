// The JIT (see jit.h). Machine code comes from the same pipeline as the AOT object files; ORC's
// LLJIT only links the object into memory, one JITDylib per kernel, so that each kernel can be
// freed on its own. The session is created once and deliberately never destroyed, so that
// kernels in static storage can be freed at exit in any order.
#include "codegen/jit.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/Error.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include "codegen/pipeline.h"
#include "codegen/target.h"
#include "ir/error.h"

namespace evoc::codegen {
namespace {

using Clock = std::chrono::steady_clock;

std::string message_of(llvm::Error error) { return llvm::toString(std::move(error)); }

/// The process-wide LLJIT; `mutex` serialises adding and removing JITDylibs.
struct Session {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::mutex mutex;
  uint64_t next_id = 0;
};

std::atomic<Session*> g_session{nullptr};
std::mutex g_session_mutex;

Session& session() {
  jit_setup();
  return *g_session.load();
}

}  // namespace

struct JitKernel::Code {
  llvm::orc::JITDylib* dylib = nullptr;
  ~Code() {
    if (!dylib) return;
    Session& s = *g_session.load();
    std::lock_guard lock(s.mutex);
    if (llvm::Error error = s.jit->getExecutionSession().removeJITDylib(*dylib)) llvm::consumeError(std::move(error));
  }
};

double jit_setup() {
  if (g_session.load()) return 0;
  std::lock_guard lock(g_session_mutex);
  if (g_session.load()) return 0;
  auto start = Clock::now();
  initialize_llvm();
  auto jit = llvm::orc::LLJITBuilder().create();
  if (!jit) throw Error("cannot create the JIT: " + message_of(jit.takeError()));
  auto* s = new Session;
  s->jit = std::move(*jit);
  g_session.store(s);
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

JitKernel::JitKernel(std::unique_ptr<Code> code, KernelFn function, CompileTimes times, unsigned width,
                     std::string symbol)
    : code_(std::move(code)), function_(function), times_(std::move(times)), width_(width), symbol_(std::move(symbol)) {}
JitKernel::JitKernel(JitKernel&&) noexcept = default;
JitKernel& JitKernel::operator=(JitKernel&&) noexcept = default;
JitKernel::~JitKernel() = default;

JitKernel compile_jit(const ir::Module& m, const CodegenOptions& options) {
  if (!options.triple.empty() &&
      llvm::Triple(llvm::Triple::normalize(options.triple)) != llvm::Triple(llvm::sys::getProcessTriple()))
    throw Error("the JIT compiles for the host only; '" + options.triple + "' is not " +
                llvm::sys::getProcessTriple() + " (use evoc compile for other targets)");
  Session& s = session();
  LlvmKernel k = build_llvm_kernel(m, options);
  std::string object = emit_machine_code(k, llvm::CodeGenFileType::ObjectFile, options.time_passes);

  auto start = Clock::now();
  auto code = std::make_unique<JitKernel::Code>();
  {
    std::lock_guard lock(s.mutex);
    auto dylib = s.jit->createJITDylib("evoc.kernel." + std::to_string(s.next_id++));
    if (!dylib) throw Error("JIT: " + message_of(dylib.takeError()));
    code->dylib = &*dylib;
  }
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(object, k.symbol);
  if (llvm::Error error = s.jit->addObjectFile(*code->dylib, std::move(buffer)))
    throw Error("JIT: cannot load the kernel object: " + message_of(std::move(error)));
  auto address = s.jit->lookup(*code->dylib, k.symbol);
  if (!address) throw Error("JIT: cannot link '" + k.symbol + "': " + message_of(address.takeError()));
  k.times.link_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return JitKernel(std::move(code), address->toPtr<KernelFn>(), std::move(k.times), k.width, k.symbol);
}

}  // namespace evoc::codegen
