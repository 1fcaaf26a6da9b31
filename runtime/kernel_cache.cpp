// The kernel cache (see kernel_cache.h). Entry names are a 128-bit hash of the key text.
#include "runtime/kernel_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/hash.h"
#include "runtime/sha256.h"

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

/// The trailer of an entry: a fixed-length line after the shared object.
constexpr std::string_view kTrailerStart = "\nevoc-kernel-cache-entry sha256 ";
constexpr std::size_t kTrailerSize = kTrailerStart.size() + 64 + 1;

std::string trailer(const std::string& key, std::string_view shared_object) {
  Sha256 h;
  h.update(key).update(std::string_view("\0", 1)).update(shared_object);
  std::string hex;
  for (uint8_t byte : h.digest()) hex += fmt::format("{:02x}", byte);
  return std::string(kTrailerStart) + hex + "\n";
}

/// Closes a file descriptor when it goes out of scope.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

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
      EVOC_VERSION, codegen::codegen_revision(), ir::content_hash(m), o.triple, o.cpu, o.features, o.opt_level,
      o.fast_math, o.vector_width, codegen::kernel_symbol(m, o));
  if (o.triple.empty() && o.cpu.empty()) key += host_cpu_fingerprint();
  return key;
}

std::string ptx_cache_key(const ir::Module& m, const codegen::CodegenOptions& options, const std::string& arch) {
  codegen::CodegenOptions gpu = options;
  gpu.cpu = arch;
  gpu.triple.clear();
  // The marker comes first: no CPU key starts with it (theirs start with "evoc ").
  return "kind ptx\n" + cache_key(m, codegen::gpu_codegen_options(gpu));
}

KernelCache::KernelCache(std::string dir) : dir_(std::move(dir)) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec || !std::filesystem::is_directory(dir_))
    throw Error(dir_ + ": cannot use as the kernel cache directory: " +
                (ec ? ec.message() : std::string("not a directory")));
}

std::string KernelCache::entry_path(const ir::Module& m, const codegen::CodegenOptions& options) const {
  return entry_path_for_key(cache_key(m, options), ".so");
}

std::string KernelCache::entry_path_for_key(const std::string& key, std::string_view suffix) const {
  const std::string name =
      fmt::format("{:016x}{:016x}{}", fnv1a(key, kFnv1aOffsetBasis), fnv1a(key, 0x84222325cbf29ce4ull), suffix);
  return (std::filesystem::path(dir_) / name).string();
}

void KernelCache::store(const std::string& path, const std::string& key, std::string_view shared_object) const {
  struct stat st {};
  // What is there goes first unless it is a regular file of ours that no one else may write:
  // the atomic writer keeps an existing file's mode, and a loose mode must not carry over.
  const bool exists = ::lstat(path.c_str(), &st) == 0;
  const bool replaceable = S_ISREG(st.st_mode) && (st.st_mode & 022) == 0 && st.st_uid == ::geteuid();
  if (exists && !replaceable && ::unlink(path.c_str()) != 0)
    throw Error(path + ": cannot write: cannot remove the file there: " + std::strerror(errno));
  std::string entry;
  entry.reserve(shared_object.size() + kTrailerSize);
  entry.append(shared_object).append(trailer(key, shared_object));
  write_file_atomic(path, entry);
}

std::optional<std::string> KernelCache::load(const std::string& path, const std::string& key,
                                             std::string& why) const {
  // O_NOFOLLOW: a symbolic link is not an entry; O_NONBLOCK: a FIFO does not block the open.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    why = errno == ENOENT ? "missing" : std::string("cannot open: ") + std::strerror(errno);
    return std::nullopt;
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    why = std::string("cannot stat: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
    return std::nullopt;
  }
  if (st.st_uid != ::geteuid()) {
    why = fmt::format("owned by user {}, not by this user ({})", st.st_uid, ::geteuid());
    return std::nullopt;
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    why = fmt::format("writable by {} (mode {:03o})", st.st_mode & S_IWOTH ? "others" : "its group",
                      st.st_mode & 0777);
    return std::nullopt;
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < data.size()) {
    const ssize_t r = ::read(fd, data.data() + got, data.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      why = std::string("cannot read: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  data.resize(got);
  if (data.size() < kTrailerSize || std::string_view(data).substr(data.size() - kTrailerSize, kTrailerStart.size()) != kTrailerStart) {
    why = "no evoc cache trailer (truncated, or not written by this cache)";
    return std::nullopt;
  }
  const std::string_view shared_object = std::string_view(data).substr(0, data.size() - kTrailerSize);
  if (std::string_view(data).substr(shared_object.size()) != trailer(key, shared_object)) {
    why = "contents do not match their SHA-256 (modified after it was written)";
    return std::nullopt;
  }
  data.resize(shared_object.size());
  return data;
}

}  // namespace evoc
