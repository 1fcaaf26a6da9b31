// Row runners (see engine.h): the reference interpreter, or an evoc::Kernel.
#include "runtime/engine.h"

#include "ir/error.h"
#include "ir/interpreter.h"
#include "runtime/kernel.h"

namespace evoc {
namespace {

class InterpEngine final : public Engine {
 public:
  explicit InterpEngine(const ir::Module& m) : interp_(m) {}
  void run(const float* x, int64_t n, int64_t xs, float* y, int64_t ys) override { interp_.run(x, n, xs, y, ys); }

 private:
  ir::Interpreter interp_;
};

class KernelEngine final : public Engine {
 public:
  KernelEngine(const ir::Module& m, Device device) : kernel_(Kernel::compile(m, {.device = device})) {}
  void run(const float* x, int64_t n, int64_t xs, float* y, int64_t ys) override {
    // A module without inputs (or outputs) has empty rows, whose buffers may be null; run()
    // wants buffers all the same.
    float none = 0;
    kernel_.run(x ? x : &none, n, xs, y ? y : &none, ys);
  }

 private:
  Kernel kernel_;
};

}  // namespace

std::string default_engine() { return "jit"; }

std::unique_ptr<Engine> make_engine(const std::string& name, const ir::Module& m) {
  if (name == "interp") return std::make_unique<InterpEngine>(m);
  if (name == "jit") return std::make_unique<KernelEngine>(m, Device::Cpu);
  if (name == "gpu") return std::make_unique<KernelEngine>(m, Device::Gpu);
  throw Error("unknown engine '" + name + "' (expected interp, jit or gpu)");
}

}  // namespace evoc
