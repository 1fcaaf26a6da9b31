// The compilation pipeline (see pipeline.h): lowering, the new PassBuilder's default pipelines,
// and the legacy code-generation pass manager, each phase timed with a steady clock.
//
// Levels 0 to 2 run no LLVM IR optimisation (only the O0 pipeline's bookkeeping): evoc's own
// passes already folded, simplified and deduplicated the graph, the kernel is one loop of
// straight-line code, and LLVM's O1/O2 IR pipelines were measured to change its speed by no more
// than noise while costing as much time as the back end. Level 3 runs LLVM's O3 pipeline.
#include "codegen/pipeline.h"

#include <chrono>
#include <mutex>
#include <shared_mutex>

#include <llvm/Analysis/CGSCCPassManager.h>
#include <llvm/Analysis/LoopAnalysisManager.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/PassManager.h>
#include <llvm/IR/PassTimingInfo.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Pass.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Passes/StandardInstrumentations.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>

#include "codegen/aot.h"
#include "codegen/lower.h"
#include "codegen/ptx.h"
#include "codegen/target.h"
#include "ir/error.h"
#include "ir/verifier.h"

namespace evoc::codegen {
namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void optimize(LlvmKernel& k, int level, bool time_passes) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassInstrumentationCallbacks callbacks;
  llvm::TimePassesHandler timer(time_passes);
  std::string report;
  llvm::raw_string_ostream report_stream(report);
  if (time_passes) {
    timer.setOutStream(report_stream);
    timer.registerCallbacks(callbacks);
  }
  llvm::PassBuilder builder(k.machine.get(), llvm::PipelineTuningOptions(), std::nullopt, &callbacks);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager passes = level < 3 ? builder.buildO0DefaultPipeline(llvm::OptimizationLevel::O0)
                                             : builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  passes.run(*k.module, mam);
  if (time_passes) {
    timer.print();
    k.times.pass_report += report;
  }
}

/// From this many LLVM IR instructions on, a kernel is compiled without the two back-end passes
/// whose time grows with the square of the size of its loop body: early machine LICM (which
/// hoists the weights out of the row loop, comparing each with every one hoisted before) and the
/// post-RA list scheduler. Measured on 1,000 outputs (about 60,000 instructions), they took 43%
/// of the compile time, and their share grows with the kernel. Below this size they stay: they
/// cost little there and the kernels of normal models run faster with them.
constexpr std::size_t kHugeKernelInstructions = 20000;

std::size_t instruction_count(const llvm::Module& module) {
  std::size_t n = 0;
  for (const llvm::Function& fn : module) n += fn.getInstructionCount();
  return n;
}

/// Builds the code-generation passes of `k` into `passes`. The back end reads its switches
/// (process-wide command-line options) while the passes are built: a huge kernel sets two of them
/// for its own construction only, under a lock that every construction takes.
bool add_code_generation_passes(LlvmKernel& k, llvm::legacy::PassManager& passes, llvm::raw_pwrite_stream& stream,
                                llvm::CodeGenFileType type) {
  static std::mutex construction_mutex;
  std::lock_guard lock(construction_mutex);
  std::vector<llvm::cl::opt<bool>*> set;
  if (instruction_count(*k.module) >= kHugeKernelInstructions) {
    const auto& options = llvm::cl::getRegisteredOptions();
    for (const char* name : {"disable-machine-licm", "disable-post-ra"})
      if (llvm::cl::Option* option = options.lookup(name)) {
        auto* flag = static_cast<llvm::cl::opt<bool>*>(option);
        if (!*flag) {
          flag->setValue(true);
          set.push_back(flag);
        }
      }
  }
  const bool failed = k.machine->addPassesToEmitFile(passes, stream, nullptr, type);
  for (llvm::cl::opt<bool>* flag : set) flag->setValue(false);
  return failed;
}

}  // namespace

LlvmKernel build_llvm_kernel(const ir::Module& m, const CodegenOptions& options) {
  ir::verify_or_throw(m, "codegen");
  LlvmKernel k;
  k.symbol = kernel_symbol(m, options);
  k.machine = make_target_machine(options);
  k.width = vector_width(*k.machine, options);

  auto start = Clock::now();
  k.context = std::make_unique<llvm::LLVMContext>();
  k.module = std::make_unique<llvm::Module>(m.name.empty() ? "evoc" : m.name, *k.context);
  k.module->setTargetTriple(k.machine->getTargetTriple().str());
  k.module->setDataLayout(k.machine->createDataLayout());
  if (k.machine->getTargetTriple().isNVPTX())
    lower_ptx_kernel(m, *k.module, k.symbol);
  else
    lower_kernel(m, *k.module,
                 {.symbol = k.symbol, .width = k.width, .fast_math = options.fast_math,
                  .native_floor = has_native_floor(*k.machine), .tile_loops = options.opt_level == 0});
  llvm::Type* i64 = llvm::Type::getInt64Ty(*k.context);
  new llvm::GlobalVariable(*k.module, i64, /*isConstant=*/true, llvm::GlobalValue::ExternalLinkage,
                           llvm::ConstantInt::get(i64, options.model_hash ? options.model_hash : ir::content_hash(m)),
                           content_hash_symbol(k.symbol));
  for (llvm::Function& fn : *k.module) {
    fn.addFnAttr("target-cpu", k.machine->getTargetCPU());
    if (!k.machine->getTargetFeatureString().empty())
      fn.addFnAttr("target-features", k.machine->getTargetFeatureString());
  }
  std::string problems;
  llvm::raw_string_ostream problem_stream(problems);
  if (llvm::verifyModule(*k.module, &problem_stream))
    throw Error("internal error: invalid LLVM IR for '" + k.symbol + "': " + problems);
  k.times.ir_generation_ms = ms_since(start);

  start = Clock::now();
  optimize(k, options.opt_level, options.time_passes);
  k.times.optimization_ms = ms_since(start);
  return k;
}

std::string emit_machine_code(LlvmKernel& k, llvm::CodeGenFileType type, bool time_passes) {
  auto start = Clock::now();
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager passes;
  if (add_code_generation_passes(k, passes, stream, type))
    throw Error("target '" + k.machine->getTargetTriple().str() + "' cannot emit this file type");
  // The back end's pass timers are process-wide (llvm::TimePassesIsEnabled, which every
  // compilation reads): a timed compilation runs alone, untimed ones run together.
  static std::shared_mutex timing_mutex;
  if (time_passes) {
    std::unique_lock lock(timing_mutex);
    llvm::TimePassesIsEnabled = true;
    passes.run(*k.module);
    llvm::TimePassesIsEnabled = false;
    std::string report;
    llvm::raw_string_ostream report_stream(report);
    llvm::reportAndResetTimings(&report_stream);
    k.times.pass_report += report;
  } else {
    std::shared_lock lock(timing_mutex);
    passes.run(*k.module);
  }
  k.times.machine_code_ms += ms_since(start);
  return std::string(buffer.data(), buffer.size());
}

std::string llvm_text(const LlvmKernel& k) {
  std::string text;
  llvm::raw_string_ostream stream(text);
  k.module->print(stream, nullptr);
  return text;
}

}  // namespace evoc::codegen
