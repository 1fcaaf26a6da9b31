// Engines for `evoc run`: the reference interpreter, and a kernel compiled in process by the JIT
// (the default).
#include "tools/engine.h"

#include "codegen/jit.h"
#include "runtime/gpu_kernel.h"
#include "ir/error.h"
#include "ir/interpreter.h"

namespace evoc::tools {
namespace {
class InterpEngine final : public Engine {
 public:
  explicit InterpEngine(const ir::Module& m) : interp_(m) {}
  void run(const float* x, int64_t n, int64_t xs, float* y, int64_t ys) override {
    interp_.run(x, n, xs, y, ys);
  }

 private:
  ir::Interpreter interp_;
};

class JitEngine final : public Engine {
 public:
  explicit JitEngine(const ir::Module& m) : kernel_(codegen::compile_jit(m)) {}
  void run(const float* x, int64_t n, int64_t xs, float* y, int64_t ys) override { kernel_(x, n, xs, y, ys); }

 private:
  codegen::JitKernel kernel_;
};
class GpuEngine final : public Engine {
 public:
  explicit GpuEngine(const ir::Module& m) : kernel_(GpuKernel::compile(m)) {}
  void run(const float* x, int64_t n, int64_t xs, float* y, int64_t ys) override { kernel_.run(x, n, xs, y, ys); }

 private:
  GpuKernel kernel_;
};
}  // namespace

std::string default_engine() { return "jit"; }

std::unique_ptr<Engine> make_engine(const std::string& name, const ir::Module& m) {
  if (name == "interp") return std::make_unique<InterpEngine>(m);
  if (name == "jit") return std::make_unique<JitEngine>(m);
  if (name == "gpu") return std::make_unique<GpuEngine>(m);
  throw Error("unknown engine '" + name + "' (expected interp, jit or gpu)");
}

}  // namespace evoc::tools
