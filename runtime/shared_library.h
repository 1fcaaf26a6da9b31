// A loaded shared object (dlopen) that stays loaded while any copy of the handle lives.
// Kernels from the cache and AOT-built libraries (`evoc compile --emit=so`) load through it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace evoc {

/// A shared object opened with RTLD_NOW | RTLD_LOCAL.
class SharedLibrary {
 public:
  /// Opens the file at `path`; a path without a slash names a file in the working directory
  /// (never a search of the library path). Throws evoc::Error with dlerror()'s reason on failure.
  explicit SharedLibrary(const std::string& path);

  /// Opens the shared object whose contents are `bytes`, through a private in-memory file
  /// (memfd), or a file in a private temporary directory where there is none: what the loader
  /// maps is exactly `bytes`, whatever happens to any file on disk meanwhile. `name` is the
  /// path reported by path() and in errors.
  static SharedLibrary from_bytes(std::string_view bytes, const std::string& name);

  /// The address of `symbol`; throws evoc::Error naming the library if it is missing.
  void* symbol(const std::string& symbol) const;
  /// The address of `symbol`, or null if the library has none.
  void* find(const std::string& symbol) const;
  const std::string& path() const { return path_; }

 private:
  /// Opens `open_path`, reported as `name`; `fd` (if not -1) is closed after the library.
  SharedLibrary(std::string name, const std::string& open_path, int fd);
  std::string path_;
  std::shared_ptr<void> handle_;  ///< dlclose on the last release
};

}  // namespace evoc
