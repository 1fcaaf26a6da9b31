// Target selection (see target.h).
#include "codegen/target.h"

#include <algorithm>
#include <mutex>

#include <llvm/ADT/SmallVector.h>
#include <llvm/ADT/StringMap.h>
#include <llvm/ADT/StringRef.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/SubtargetFeature.h>
#include <llvm/TargetParser/Triple.h>

#include "ir/error.h"

namespace evoc::codegen {
namespace {

/// The host's CPU name and feature string, detected once.
struct HostTarget {
  std::string triple, cpu, features;
};

const HostTarget& host_target() {
  static const HostTarget host = [] {
    HostTarget h{llvm::sys::getProcessTriple(), llvm::sys::getHostCPUName().str(), ""};
    llvm::SubtargetFeatures features;
    for (const auto& feature : llvm::sys::getHostCPUFeatures()) features.AddFeature(feature.getKey(), feature.getValue());
    h.features = features.getString();
    return h;
  }();
  return host;
}

llvm::CodeGenOptLevel codegen_level(int opt_level) {
  switch (opt_level) {
    case 0: return llvm::CodeGenOptLevel::None;
    case 1: return llvm::CodeGenOptLevel::Less;
    case 2: return llvm::CodeGenOptLevel::Default;
    default: return llvm::CodeGenOptLevel::Aggressive;
  }
}

}  // namespace

void initialize_llvm() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

std::unique_ptr<llvm::TargetMachine> make_target_machine(const CodegenOptions& options) {
  initialize_llvm();
  if (options.opt_level < 0 || options.opt_level > 3)
    throw Error("optimisation level must be 0..3, got " + std::to_string(options.opt_level));
  const HostTarget& host = host_target();
  const bool host_triple = options.triple.empty() || llvm::Triple(options.triple) == llvm::Triple(host.triple);
  const std::string triple = llvm::Triple::normalize(options.triple.empty() ? host.triple : options.triple);
  std::string cpu = options.cpu;
  std::string features = options.features;
  if (cpu.empty()) {
    cpu = host_triple ? host.cpu : "generic";
    if (host_triple) features = features.empty() ? host.features : host.features + "," + features;
  }
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) throw Error("unknown target triple '" + triple + "': " + error);
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(target->createMCSubtargetInfo(triple, "", ""));
  if (!subtarget || !subtarget->isCPUStringValid(cpu))
    throw Error("unknown CPU '" + cpu + "' for target '" + triple + "'");
  // Every feature of --mattr must be one the target knows: LLVM only warns about the others
  // (three times) and ignores them.
  if (!options.features.empty()) {
    const auto known = subtarget->getAllProcessorFeatures();
    llvm::SmallVector<llvm::StringRef, 8> parts;
    llvm::StringRef(options.features).split(parts, ',', -1, /*KeepEmpty=*/false);
    for (llvm::StringRef part : parts) {
      llvm::StringRef name = part.trim();
      if (!name.consume_front("+")) name.consume_front("-");
      const bool found = std::any_of(known.begin(), known.end(),
                                     [&](const llvm::SubtargetFeatureKV& kv) { return name == kv.Key; });
      if (name.empty() || !found)
        throw Error("unknown target feature '" + part.trim().str() + "' in --mattr for target '" + triple +
                    "' (features are written +name or -name, comma separated)");
    }
  }
  // A 64-bit triple with a CPU or features that cannot run 64-bit code makes LLVM abort (LLVM
  // ERROR, a signal) when it emits code: refuse it here.
  if (llvm::Triple(triple).getArch() == llvm::Triple::x86_64) {
    std::unique_ptr<llvm::MCSubtargetInfo> chosen(target->createMCSubtargetInfo(triple, cpu, features));
    if (chosen && !chosen->checkFeatures("+64bit"))
      throw Error("CPU '" + cpu + "' cannot run 64-bit code, which target '" + triple +
                  "' needs (give a 32-bit triple with --target, e.g. i686-linux-gnu, or a 64-bit CPU)");
    if (chosen && !chosen->checkFeatures("+64bit-mode"))
      throw Error("--mattr '" + options.features + "' turns off 64-bit mode, which target '" + triple + "' needs");
  }
  llvm::TargetOptions target_options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, target_options, llvm::Reloc::PIC_, std::nullopt, codegen_level(options.opt_level)));
  if (!tm) throw Error("cannot create a target machine for '" + triple + "' (cpu '" + cpu + "')");
  return tm;
}

unsigned vector_width(const llvm::TargetMachine& tm, const CodegenOptions& options) {
  if (options.vector_width < 0 || options.vector_width > 64)
    throw Error("vector width must be 1..64, got " + std::to_string(options.vector_width));
  if (tm.getTargetTriple().isNVPTX()) return 1;  // one thread per row
  if (options.vector_width > 0) return static_cast<unsigned>(options.vector_width);
  const llvm::MCSubtargetInfo& st = *tm.getMCSubtargetInfo();
  if (tm.getTargetTriple().isX86()) {
    if (st.checkFeatures("+avx512f")) return 16;
    if (st.checkFeatures("+avx")) return 8;
  }
  return 4;
}

bool has_native_floor(const llvm::TargetMachine& tm) {
  const llvm::Triple& triple = tm.getTargetTriple();
  if (triple.isX86()) return tm.getMCSubtargetInfo()->checkFeatures("+sse4.1");
  return triple.isAArch64();
}

}  // namespace evoc::codegen
