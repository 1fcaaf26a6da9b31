// The kernel cache (see kernel_cache.h). Entry names are a 128-bit hash of the key text.
#include "runtime/kernel_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/hash.h"

#ifndef EVOC_VERSION
#error "EVOC_VERSION must be defined by the build"
#endif

namespace evoc {
namespace {

/// The host CPU as the kernel's code depends on it: model and feature flags from
/// /proc/cpuinfo (x86 and Arm field names), or the build architecture where that is missing.
std::string host_cpu_fingerprint() {
  static const std::string fingerprint = [] {
    static constexpr std::string_view kFields[] = {
        "vendor_id",       "cpu family",       "model",       "model name", "stepping", "flags", "Features",
        "CPU implementer", "CPU architecture", "CPU variant", "CPU part"};
    std::ifstream in("/proc/cpuinfo");
    std::string out, line;
    while (std::getline(in, line) && !line.empty()) {  // the first processor's block
      const std::size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string_view key(line.data(), colon);
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
      for (std::string_view field : kFields)
        if (key == field) out += line + "\n";
    }
#if defined(__x86_64__)
    out += "build-arch x86_64\n";
#elif defined(__aarch64__)
    out += "build-arch aarch64\n";
#else
    out += "build-arch other\n";
#endif
    return out;
  }();
  return fingerprint;
}

}  // namespace

std::string resolve_cache_dir(const std::string& dir) {
  if (!dir.empty()) return dir;
  const char* env = std::getenv(kCacheDirVariable);
  return env ? env : "";
}

std::string cache_key(const ir::Module& m, const codegen::CodegenOptions& o) {
  std::string key = fmt::format(
      "evoc {} codegen {}\nmodule {:016x}\ntriple {}\ncpu {}\nfeatures {}\nopt {}\nfast-math {}\nwidth "
      "{}\nsymbol {}\n",
      EVOC_VERSION, codegen::kCodegenRevision, ir::content_hash(m), o.triple, o.cpu, o.features, o.opt_level,
      o.fast_math, o.vector_width, codegen::kernel_symbol(m, o));
  if (o.triple.empty() && o.cpu.empty()) key += host_cpu_fingerprint();
  return key;
}

KernelCache::KernelCache(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    throw Error(dir_ + ": cannot use as the kernel cache directory: " +
                (ec ? ec.message() : std::string("not a directory")));
}

std::string KernelCache::entry_path(const ir::Module& m, const codegen::CodegenOptions& options) const {
  const std::string key = cache_key(m, options);
  const std::string name =
      fmt::format("{:016x}{:016x}.so", fnv1a(key, kFnv1aOffsetBasis), fnv1a(key, 0x84222325cbf29ce4ull));
  return (std::filesystem::path(dir_) / name).string();
}

void KernelCache::store(const std::string& path, std::string_view shared_object) const {
  write_file_atomic(path, shared_object);
}

}  // namespace evoc
