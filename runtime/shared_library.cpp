// dlopen / dlsym with evoc::Error on failure (see shared_library.h).
#include "runtime/shared_library.h"

#include <dlfcn.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ir/error.h"
#include "ir/file_util.h"

namespace evoc {
namespace {

/// dlopen searches the library path for a name without a slash: make it a relative path.
std::string file_path(const std::string& path) {
  return path.find('/') == std::string::npos ? "./" + path : path;
}

/// Writes all of `bytes` to `fd`; false on failure (errno set).
bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t w = ::write(fd, bytes.data(), bytes.size());
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(w));
  }
  return true;
}

}  // namespace

SharedLibrary::SharedLibrary(const std::string& path) : SharedLibrary(path, file_path(path), -1) {}

SharedLibrary::SharedLibrary(std::string name, const std::string& open_path, int fd) : path_(std::move(name)) {
  void* handle = dlopen(open_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* reason = dlerror();
    throw Error(path_ + ": cannot load shared library: " + (reason ? reason : "unknown error"));
  }
  handle_ = std::shared_ptr<void>(handle, [fd](void* h) {
    dlclose(h);
    if (fd >= 0) ::close(fd);
  });
}

SharedLibrary SharedLibrary::from_bytes(std::string_view bytes, const std::string& name) {
  const int fd = ::memfd_create("evoc-kernel", MFD_CLOEXEC);
  if (fd >= 0) {
    const bool written = write_all(fd, bytes);
    const int error = errno;
    if (written) {
      try {
        // The loader takes an object whose path it has loaded before for that object: the memory
        // file stays open (its path taken) until the library is closed.
        return SharedLibrary(name, "/proc/self/fd/" + std::to_string(fd), fd);
      } catch (const Error&) {
        // no /proc, or memory files may not be executed here: a private file below
      }
    }
    ::close(fd);
    if (!written) throw Error(name + ": cannot load shared library: " + std::strerror(error));
  }
  TempDir dir("evoc-kernel");  // mode 0700: no one else can touch the file
  const std::string file = dir.file("kernel.so");
  write_file_atomic(file, bytes);
  return SharedLibrary(name, file, -1);
}

void* SharedLibrary::find(const std::string& symbol) const {
  dlerror();
  return dlsym(handle_.get(), symbol.c_str());
}

void* SharedLibrary::symbol(const std::string& symbol) const {
  void* address = find(symbol);
  if (!address) throw Error(path_ + ": no symbol '" + symbol + "' in the shared library");
  return address;
}

}  // namespace evoc
