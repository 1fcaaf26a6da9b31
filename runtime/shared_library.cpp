// dlopen / dlsym with evoc::Error on failure (see shared_library.h).
#include "runtime/shared_library.h"

#include <dlfcn.h>

#include "ir/error.h"

namespace evoc {

SharedLibrary::SharedLibrary(const std::string& path) : path_(path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* reason = dlerror();
    throw Error(path + ": cannot load shared library: " + (reason ? reason : "unknown error"));
  }
  handle_ = std::shared_ptr<void>(handle, [](void* h) { dlclose(h); });
}

void* SharedLibrary::symbol(const std::string& symbol) const {
  dlerror();
  void* address = dlsym(handle_.get(), symbol.c_str());
  if (!address) throw Error(path_ + ": no symbol '" + symbol + "' in the shared library");
  return address;
}

}  // namespace evoc
