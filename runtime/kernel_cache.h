// The on-disk kernel cache: one shared object per (module content hash, target CPU and
// features, code generation options, evoc version). A hit loads that shared object, which
// skips LLVM entirely. Entries are written atomically (temp file + rename), so concurrent
// writers of the same entry (threads or processes) all succeed and readers never see a
// partial file; the last rename wins and every writer wrote the same bytes.
//
// The cache never executes what it did not write: an entry is the shared object followed by a
// trailer holding the SHA-256 of the entry's key and the shared object. A hit reads the file
// (a regular file owned by this user and writable by no one else), checks the trailer, and loads
// the bytes it checked (SharedLibrary::from_bytes), so that a truncated, patched, foreign or
// swapped-in file is never opened by the dynamic loader: the caller compiles and replaces it.
//
// GPU kernels are cached as PTX text (runtime/gpu_kernel.h, gpu_ptx) in the same directory, with
// the same trailer, under the suffix .ptx: their key names the GPU architecture (sm_NN) as the
// target and marks the entry as PTX, so a CPU and a GPU entry of one module never collide, and
// the PTX of one architecture is never handed to the driver for another.
#pragma once

#include <optional>
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
  /// The entry for key `key` (cache_key, ptx_cache_key), named by its hash, with suffix `suffix`
  /// (".so" for shared objects, ".ptx" for PTX).
  std::string entry_path_for_key(const std::string& key, std::string_view suffix) const;
  /// Writes the entry at `path` for `key` (see cache_key) atomically: `shared_object` and its
  /// trailer. A symbolic link or other non-regular file at `path` is removed first (the link,
  /// never its target). Throws evoc::Error on I/O failure.
  void store(const std::string& path, const std::string& key, std::string_view shared_object) const;
  /// The shared object of the entry at `path` if this cache wrote it for `key`: a regular file
  /// of this user, writable by no one else, whose trailer matches the SHA-256 of `key` and the
  /// bytes before it. Otherwise nullopt, with the reason in `why` ("missing" when there is none).
  std::optional<std::string> load(const std::string& path, const std::string& key, std::string& why) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

/// Everything a compiled kernel depends on, as text: the module's content hash, the target
/// (the host CPU model and features when the options leave it open), the options that change
/// the code, and the evoc version. Two keys are equal exactly when the kernels would be.
std::string cache_key(const ir::Module& m, const codegen::CodegenOptions& options);

/// The key of the PTX of `m` for GPU architecture `arch` (e.g. "sm_90"): cache_key's facts for
/// the options retargeted to that GPU (codegen::gpu_codegen_options), marked as PTX. Throws
/// evoc::Error when `arch` is not a CUDA GPU architecture.
std::string ptx_cache_key(const ir::Module& m, const codegen::CodegenOptions& options, const std::string& arch);

}  // namespace evoc
