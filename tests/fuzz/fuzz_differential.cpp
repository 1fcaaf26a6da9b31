// libFuzzer target: differential testing of the optimiser (and, built with EVOC_FUZZ_JIT, of the
// JIT). The fuzzer's bytes decode to a module and rows (module_from_bytes.h), with immediates of
// any bit pattern; the module must survive a text round trip, and the reference interpreter's
// outputs are the truth. The module optimised by passes::optimize at O2 must give
// the same outputs bit for bit (NaN payloads aside), and so must the `-O2` JIT kernel of the
// original or of the optimised module. Batches use strided rows; output padding must stay
// untouched, and the JIT's buffers end at a guard page so an overrun faults.
//
// With flag bit 3 set, the case's module is also linked with random members into a random
// ensemble (passes/link.h: mean or vote, regression or classification, sometimes weighted), and
// the linked module, an ordinary module, goes through the same checks.
//
// A mismatch is reduced with the optimiser tests' shrinker to the smallest subgraph that still
// fails, printed as IR, and aborts (libFuzzer then saves the input as a crash).
#include <sys/mman.h>
#include <unistd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "ir/error.h"
#include "ir/interpreter.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"
#include "module_from_bytes.h"
#include "passes/link.h"
#include "passes/pass_manager.h"
#include "tests/passes/differential.h"
#ifdef EVOC_FUZZ_JIT
#include "codegen/jit.h"
#endif

using namespace evoc;

namespace {

constexpr uint32_t kCanary = 0x7fc0deadu;  // a NaN with a payload no op produces

/// Memory of `count` floats that ends exactly at an inaccessible page.
class GuardedFloats {
 public:
  explicit GuardedFloats(std::size_t count) {
    const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t bytes = count * sizeof(float);
    length_ = (bytes + page - 1) / page * page + page;
    base_ = static_cast<char*>(mmap(nullptr, length_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    FUZZ_CHECK(base_ != MAP_FAILED, "mmap failed");
    FUZZ_CHECK(mprotect(base_ + length_ - page, page, PROT_NONE) == 0, "mprotect failed");
    data_ = reinterpret_cast<float*>(base_ + length_ - page - bytes);
  }
  ~GuardedFloats() { munmap(base_, length_); }
  GuardedFloats(const GuardedFloats&) = delete;
  GuardedFloats& operator=(const GuardedFloats&) = delete;
  float* data() { return data_; }

 private:
  char* base_ = nullptr;
  std::size_t length_ = 0;
  float* data_ = nullptr;
};

/// An engine: applies a module to the case's rows, writing a y buffer of n_rows * y_stride floats.
using Engine = std::function<void(const ir::Module&, const fuzz::Case&, float* y)>;

std::vector<float> canary_buffer(const fuzz::Case& c) {
  return std::vector<float>(static_cast<std::size_t>(c.n_rows * c.y_stride), std::bit_cast<float>(kCanary));
}

void interpreter_engine(const ir::Module& m, const fuzz::Case& c, float* y) {
  ir::interpret(m, c.rows.data(), c.n_rows, c.x_stride, y, c.y_stride);
}

void optimiser_engine(const ir::Module& m, const fuzz::Case& c, float* y) {
  ir::Module optimised = m;
  passes::optimize(optimised, passes::OptLevel::O2);
  const auto problems = ir::verify_module(optimised);
  if (!problems.empty()) throw Error("O2 produced a module that does not verify: " + problems.front());
  if (optimised.n_in() != m.n_in() || optimised.n_out() != m.n_out())
    throw Error("O2 changed the module's signature");
  interpreter_engine(optimised, c, y);
}

#ifdef EVOC_FUZZ_JIT
// The -O2 JIT kernel of `m` (optimised at O2 first when `optimise_first`), on guarded buffers.
void jit_engine(const ir::Module& m, const fuzz::Case& c, float* y, bool optimise_first, int vector_width) {
  ir::Module source = m;
  if (optimise_first) passes::optimize(source, passes::OptLevel::O2);
  codegen::CodegenOptions options;
  options.opt_level = 2;
  options.vector_width = vector_width;
  const codegen::JitKernel kernel = codegen::compile_jit(source, options);
  const std::size_t x_count = static_cast<std::size_t>(c.n_rows * c.x_stride);
  const std::size_t y_count = static_cast<std::size_t>(c.n_rows * c.y_stride);
  GuardedFloats x(x_count), out(y_count);
  std::memcpy(x.data(), c.rows.data(), x_count * sizeof(float));
  std::memcpy(out.data(), y, y_count * sizeof(float));
  kernel(x.data(), c.n_rows, c.x_stride, out.data(), c.y_stride);
  std::memcpy(y, out.data(), y_count * sizeof(float));
  FUZZ_CHECK(std::memcmp(x.data(), c.rows.data(), x_count * sizeof(float)) == 0, "the JIT kernel wrote its input");
}
#endif

/// The first difference between `engine` and the interpreter on `m`, described; nullopt if none.
std::optional<std::string> first_difference(const ir::Module& m, const fuzz::Case& c, const Engine& engine) {
  std::vector<float> expected = canary_buffer(c), actual = canary_buffer(c);
  interpreter_engine(m, c, expected.data());
  try {
    engine(m, c, actual.data());
  } catch (const std::exception& e) {
    return std::string("threw: ") + e.what();
  }
  for (int64_t r = 0; r < c.n_rows; ++r)
    for (int64_t k = 0; k < c.y_stride; ++k) {
      const std::size_t at = static_cast<std::size_t>(r * c.y_stride + k);
      const bool padding = k >= static_cast<int64_t>(m.n_out());
      const bool same = padding ? std::bit_cast<uint32_t>(actual[at]) == kCanary
                                : ir::same_float(expected[at], actual[at]);
      if (same) continue;
      std::ostringstream row;
      for (std::size_t i = 0; i < m.n_in(); ++i)
        row << (i ? ", " : "") << ir::format_float(c.rows[static_cast<std::size_t>(r * c.x_stride) + i]);
      std::ostringstream out;
      if (padding)
        out << "row " << r << ": wrote padding cell " << k << " of the output row (stride " << c.y_stride << ")";
      else
        out << "row " << r << " [" << row.str() << "], output " << k << ": interpreter "
            << ir::format_float(expected[at]) << ", got " << ir::format_float(actual[at]);
      return out.str();
    }
  return std::nullopt;
}

/// Checks `engine` against the interpreter; on a difference, shrinks the module and aborts.
void check_engine(const char* name, const fuzz::Case& c, const Engine& engine) {
  const auto difference = first_difference(c.module, c, engine);
  if (!difference) return;
  const ir::Module small = test::shrink(c.module, [&](const ir::Module& candidate) {
    return first_difference(candidate, c, engine).has_value();
  });
  FUZZ_FAIL(name << " differs from the interpreter: " << *difference << "\n--- module ("
                 << c.module.values.size() << " values) ---\n" << ir::print_module(c.module)
                 << "--- shrunk (" << small.values.size() << " values): "
                 << first_difference(small, c, engine).value_or("?") << " ---\n" << ir::print_module(small)
                 << "--- rows: " << c.n_rows << ", x_stride " << c.x_stride << ", y_stride " << c.y_stride);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const fuzz::Case c = fuzz::decode_case(data, size);
  const auto problems = ir::verify_module(c.module);
  FUZZ_CHECK(problems.empty(), "decode_case built an invalid module: " << problems.front());
  if (!fuzz_skipped("round-trip")) {
    const std::string text = ir::print_module(c.module);
    FUZZ_CHECK(ir::parse_module(text) == c.module, "parse(print(m)) != m for\n" << text);
  }
  std::vector<fuzz::Case> cases = {c};
  if (c.flags & 8) {
    const test::RandomEnsemble e = test::random_ensemble(size * 0x9e3779b97f4a7c15ull + c.flags, &c.module);
    fuzz::Case linked = c;
    try {
      linked.module = passes::link_modules(e.members, e.options);
    } catch (const std::exception& error) {
      FUZZ_FAIL("link_modules refused members that agree: " << error.what() << "\n--- first member ---\n"
                                                            << ir::print_module(c.module));
    }
    cases.push_back(std::move(linked));
  }
  for (const fuzz::Case& each : cases) {
    const char* what = &each == &cases.front() ? "" : " (linked ensemble)";
    check_engine((std::string("passes::optimize(O2)") + what).c_str(), each, optimiser_engine);
#ifdef EVOC_FUZZ_JIT
    static constexpr int kWidths[] = {0, 1, 4, 16};
    const bool optimise_first = c.flags & 1;
    const int width = kWidths[(c.flags >> 1) % 4];
    check_engine(((optimise_first ? "the -O2 JIT kernel of the O2 module" : "the -O2 JIT kernel") + std::string(what)).c_str(),
                 each, [&](const ir::Module& m, const fuzz::Case& cc, float* y) {
                   jit_engine(m, cc, y, optimise_first, width);
                 });
#endif
  }
  return 0;
}
