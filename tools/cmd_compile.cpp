// evoc compile: a model to a native kernel, at any stage of the code generator, in the style of
// `llc` and Toy's `-emit=`:
//
//   evoc compile model.evir --emit=obj -o model.o --name iris
//   evoc compile model.evir --emit=header -o iris.h --name iris
//   evoc compile model.evir --emit=asm --mcpu=skylake-avx512 -O3
//   evoc compile model.evir --emit=so -o libiris.so --time-passes
//   evoc compile model.evir --emit=ptx -o iris.ptx --gpu sm_90
//
// The model is first optimised by the IR pipeline (`--ir-opt`, default 2, the same as
// `evoc opt -O2`), then lowered and optimised by LLVM (-O0..-O3). Outputs are written atomically
// (or to stdout for '-' or no -o with a text format); timing reports go to stderr.
#include <memory>
#include <string>

#include <fmt/core.h>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "runtime/compile.h"
#include "tools/cli_util.h"
#include "tools/commands.h"

namespace evoc::tools {
namespace {

struct CompileOptions {
  std::string input, output, emit = "obj", gpu;
  int ir_opt = 2;
  codegen::CodegenOptions codegen;
};

bool is_binary(const std::string& emit) { return emit == "obj" || emit == "so" || emit == "cubin"; }
bool is_gpu(const std::string& emit) { return emit == "ptx" || emit == "cubin"; }

void run_compile(const CompileOptions& o) {
  const auto kind = codegen::emit_kind_from_name(o.emit);
  if (!kind) throw Error(fmt::format("compile: unknown --emit={} (expected {})", o.emit, codegen::emit_kind_names()));
  if (is_binary(o.emit) && (o.output.empty() || o.output == "-"))
    throw Error(fmt::format("compile: --emit={} writes a binary file; give it with -o", o.emit));
  if (!o.gpu.empty() && !is_gpu(o.emit))
    throw Error(fmt::format("compile: --gpu {} applies to --emit=ptx and --emit=cubin only", o.gpu));
  if (is_gpu(o.emit) && (!o.codegen.cpu.empty() || !o.codegen.triple.empty()))
    throw Error(fmt::format("compile: --emit={} targets a CUDA GPU; choose it with --gpu, not --mcpu/--target", o.emit));
  codegen::CodegenOptions options = o.codegen;
  if (is_gpu(o.emit)) options.cpu = o.gpu;
  const codegen::Artifact artifact = compile_model(ir::read_module(o.input), *kind, options, o.ir_opt);
  emit_output(o.output, artifact.data);
  if (o.codegen.time_passes && *kind != codegen::EmitKind::Header && *kind != codegen::EmitKind::C)
    fmt::print(stderr, "{}: {}", o.input, artifact.times.format());
}

}  // namespace

void register_compile_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("compile", "Compile a model to a native kernel (LLVM IR, asm, object, header, .so, C, PTX)");
  auto o = std::make_shared<CompileOptions>();
  codegen::CodegenOptions& c = o->codegen;
  cmd->add_option("MODEL", o->input, "IR file (.evir)")->required();
  cmd->add_option("-o,--output", o->output,
                  "output file, written atomically ('-' or absent: stdout, text only)");
  cmd->add_option(
         "--emit", o->emit,
         "what to produce: llvm (optimised LLVM IR), asm, obj (relocatable, PIC), header (C header "
         "with the kernel declaration, n_in, n_out, hash, names), so (shared object via cc -shared), "
         "c (portable C99), ptx (CUDA kernel, one thread per row), cubin (the PTX assembled by ptxas)")
      ->check(CLI::IsMember({"llvm", "asm", "obj", "header", "so", "c", "ptx", "cubin"}));
  cmd->add_option("--gpu", o->gpu, "GPU architecture for --emit=ptx|cubin, e.g. sm_80, sm_90 (default sm_80)");
  cmd->add_option("--name", c.symbol, "kernel symbol (default: evoc_ followed by the model name)");
  cmd->add_option("-O", c.opt_level,
                  "code generation level 0..3 (default 2; 0 compiles fastest, LLVM IR passes only at 3; "
                  "see codegen/options.h)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("--ir-opt", o->ir_opt, "IR optimisation level before lowering, as evoc opt -O (default 2)")
      ->check(CLI::Range(0, 3));
  cmd->add_option("--mcpu", c.cpu, "target CPU, e.g. skylake-avx512, x86-64-v3 (default: the host CPU)");
  cmd->add_option("--target", c.triple, "target triple, e.g. aarch64-linux-gnu (default: the host)");
  cmd->add_option("--mattr", c.features, "extra target features, e.g. +avx2,-avx512f");
  cmd->add_option("--vector-width", c.vector_width,
                  "rows per SIMD step (default: 16 AVX-512, 8 AVX, 4 otherwise)")
      ->check(CLI::Range(1, 64));
  cmd->add_flag("--fast-math", c.fast_math,
                "allow reassociation and FMA contraction (results then differ from the interpreter in the "
                "last bits); the IR pipeline also runs its fast-math passes");
  cmd->add_flag("--time-passes", c.time_passes,
                "report the time of each phase (IR generation, LLVM optimisation, machine code) and of each "
                "LLVM pass (stderr)");
  cmd->callback([o] { run_compile(*o); });
}

}  // namespace evoc::tools
