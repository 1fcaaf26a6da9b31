// The on-disk kernel cache: one shared object per (module content hash, target CPU and
// features, code generation options, evoc version). A hit is a dlopen of that file, which
// skips LLVM entirely. Entries are written atomically (temp file + rename), so concurrent
// writers of the same entry (threads or processes) all succeed and readers never see a
// partial file; the last rename wins and every writer wrote the same bytes.
#pragma once

#include <string>
#include <string_view>

#include "codegen/options.h"
#include "ir/module.h"

namespace evoc {

/// The environment variable naming the default cache directory.
inline constexpr const char* kCacheDirVariable = "EVOC_CACHE_DIR";

/// `dir` if it is not empty, else $EVOC_CACHE_DIR, else "" (no cache).
std::string resolve_cache_dir(const std::string& dir);

/// A cache directory.
class KernelCache {
 public:
  /// Uses (and creates, if needed) directory `dir`; throws evoc::Error if it cannot.
  explicit KernelCache(std::string dir);

  /// The entry for `m` compiled with `options` (which may not exist yet).
  std::string entry_path(const ir::Module& m, const codegen::CodegenOptions& options) const;
  /// Writes an entry atomically; throws evoc::Error on I/O failure.
  void store(const std::string& path, std::string_view shared_object) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

/// Everything a compiled kernel depends on, as text: the module's content hash, the target
/// (the host CPU model and features when the options leave it open), the options that change
/// the code, and the evoc version. Two keys are equal exactly when the kernels would be.
std::string cache_key(const ir::Module& m, const codegen::CodegenOptions& options);

}  // namespace evoc
