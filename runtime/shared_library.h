// A loaded shared object (dlopen) that stays loaded while any copy of the handle lives.
// Kernels from the cache and AOT-built libraries (`evoc compile --emit=so`) load through it.
#pragma once

#include <memory>
#include <string>

namespace evoc {

/// A shared object opened with RTLD_NOW | RTLD_LOCAL.
class SharedLibrary {
 public:
  /// Opens `path`; throws evoc::Error with dlerror()'s reason on failure.
  explicit SharedLibrary(const std::string& path);

  /// The address of `symbol`; throws evoc::Error naming the library if it is missing.
  void* symbol(const std::string& symbol) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::shared_ptr<void> handle_;  ///< dlclose on the last release
};

}  // namespace evoc
