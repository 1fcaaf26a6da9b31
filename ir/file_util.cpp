// Whole-file reads and atomic writes.
#include "ir/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/core.h>

#include "ir/error.h"

namespace evoc {

namespace {

[[noreturn]] void cannot_read(const std::string& path, const std::string& why) {
  throw Error(path + ": cannot read: " + why);
}

}  // namespace

std::string read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) cannot_read(path, std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) cannot_read(path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) cannot_read(path, "is a directory");
  const bool regular = S_ISREG(st.st_mode);
  std::string text;
  try {
    // A regular file's size is only a hint (/proc files say 0): read to the end regardless.
    if (regular && st.st_size > 0) text.reserve(static_cast<std::size_t>(st.st_size));
    char chunk[1 << 16];
    for (;;) {
      // Into the reserved room while there is some, else through a chunk (a pipe, or a file that
      // grew): the end is confirmed without growing a string that already holds the whole file.
      const std::size_t old = text.size();
      const bool in_place = text.capacity() > old;
      const std::size_t want = in_place ? text.capacity() - old : sizeof chunk;
      if (in_place) text.resize(text.capacity());
      const ssize_t got = ::read(fd, in_place ? text.data() + old : chunk, want);
      if (in_place) text.resize(old + static_cast<std::size_t>(std::max<ssize_t>(got, 0)));
      if (got < 0) {
        if (errno == EINTR) continue;
        cannot_read(path, std::strerror(errno));
      }
      if (got == 0) break;
      if (!in_place) text.append(chunk, static_cast<std::size_t>(got));
      if (!regular) {
        if (const void* nul = std::memchr(text.data() + old, '\0', static_cast<std::size_t>(got)))
          cannot_read(path, fmt::format("not a text file (a NUL byte at offset {}, read from a device or pipe)",
                                        static_cast<const char*>(nul) - text.data()));
        if (text.size() > kMaxStreamBytes)
          cannot_read(path, fmt::format("more than {} MiB from a file that is not a regular file (a device or "
                                        "a pipe without an end?)",
                                        kMaxStreamBytes >> 20));
      }
    }
  } catch (const std::bad_alloc&) {
    cannot_read(path, regular ? fmt::format("out of memory (the file has {} bytes)", st.st_size)
                              : fmt::format("out of memory after {} bytes", text.size()));
  } catch (const std::length_error&) {
    cannot_read(path, "out of memory");
  }
  return text;
}

namespace {

/// True if `text` names a process id that no longer exists on this machine.
bool dead_pid(std::string_view text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string_view::npos)
    return false;
  const pid_t pid = static_cast<pid_t>(std::stol(std::string(text)));
  return pid > 0 && pid != getpid() && ::kill(pid, 0) != 0 && errno == ESRCH;
}

/// Removes the entries of `dir` named `PREFIX<PID><SEP>...` whose process is gone: what a
/// process killed in the middle of a write (or with a temporary directory open) leaves behind.
void remove_stale(const std::filesystem::path& dir, const std::string& prefix, char sep) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    const std::size_t stop = rest.find(sep);
    if (stop == std::string_view::npos || !dead_pid(rest.substr(0, stop))) continue;
    std::error_code ignored;
    std::filesystem::remove_all(it->path(), ignored);
  }
}

/// fsync on a directory, so that a rename into it survives a crash of the machine.
void sync_directory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

namespace {

[[noreturn]] void cannot_write(const std::string& path, int err) {
  throw Error(path + ": cannot write: " + std::strerror(err));
}

/// Writes all of `data` to `fd`; returns 0 or the errno of the failing write.
int write_all(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t w = ::write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {  // a non-blocking pipe or terminal: wait for room
        pollfd ready{fd, POLLOUT, 0};
        if (::poll(&ready, 1, -1) >= 0 || errno == EINTR) continue;
      }
      return errno;
    }
    if (w == 0) return EIO;
    p += w;
    left -= static_cast<std::size_t>(w);
  }
  return 0;
}

/// `path` with symbolic links in its last component followed (a relative link target is taken
/// from the link's directory); the path itself if it is not a link.
std::filesystem::path follow_links(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p(path);
  for (int hops = 0;; ++hops) {
    std::error_code ec;
    const fs::file_status s = fs::symlink_status(p, ec);
    if (ec || !fs::is_symlink(s)) return p;
    if (hops == 40) cannot_write(path, ELOOP);
    fs::path target = fs::read_symlink(p, ec);
    if (ec) cannot_write(path, ec.value());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
}

/// The temp-file-and-rename write of a regular file (or a new one) at `target`; `mode` the
/// permission bits to give it.
void write_replacing(const std::string& path, const std::filesystem::path& target, std::string_view data,
                     mode_t mode, bool keep_mode) {
  namespace fs = std::filesystem;
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  // Temporary files of earlier writers of this path that were killed before their rename.
  remove_stale(dir, "." + target.filename().string() + ".tmp", '.');
  std::random_device rd;
  const fs::path tmp = dir / ("." + target.filename().string() + ".tmp" + std::to_string(getpid()) + "." +
                              std::to_string(rd()));
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) cannot_write(path, errno);
  int err = write_all(fd, data);
  if (err == 0 && keep_mode && ::fchmod(fd, mode) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), target.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    cannot_write(path, err);
  }
  sync_directory(dir);
}

}  // namespace

void write_file_atomic(const std::string& path, std::string_view data) {
  if (path == "-") {
    // Whatever stdio holds goes first, so that the output keeps its order.
    if (std::fflush(stdout) != 0) cannot_write("standard output", errno);
    if (const int err = write_all(STDOUT_FILENO, data); err != 0) cannot_write("standard output", err);
    return;
  }
  if (path.empty()) cannot_write(path, ENOENT);
  const std::filesystem::path target = follow_links(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) != 0) {
    if (errno != ENOENT) cannot_write(path, errno);
    write_replacing(path, target, data, 0, false);  // a new file
    return;
  }
  if (S_ISREG(st.st_mode)) {
    write_replacing(path, target, data, st.st_mode & 07777, true);
  } else if (S_ISDIR(st.st_mode)) {
    cannot_write(path, EISDIR);
  } else if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) {
    // A device or a pipe: written into, never replaced (no truncation: a device has no length).
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) cannot_write(path, errno);
    int err = write_all(fd, data);
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) cannot_write(path, err);
  } else {
    throw Error(path + ": cannot write: not a regular file, a character device or a FIFO");
  }
}

void check_output_writable(const std::string& path) {
  if (path == "-") return;
  if (path.empty()) cannot_write(path, ENOENT);
  const std::filesystem::path target = follow_links(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) cannot_write(path, EISDIR);
    if (!S_ISREG(st.st_mode)) {
      if (::access(target.c_str(), W_OK) != 0) cannot_write(path, errno);
      return;
    }
  } else if (errno != ENOENT) {
    cannot_write(path, errno);
  }
  const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
  if (::access((dir / ".").c_str(), W_OK) != 0) cannot_write(path, errno);
}

TempDir::TempDir(std::string_view prefix) {
  // PREFIX-PID-XXXXXX: the directories of killed processes are recognised and removed here.
  const std::filesystem::path base = std::filesystem::temp_directory_path();
  remove_stale(base, std::string(prefix) + "-", '-');
  std::string pattern = (base / (std::string(prefix) + "-" + std::to_string(getpid()) + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data()))
    throw Error("cannot create a temporary directory " + pattern + ": " + std::strerror(errno));
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  // Tests may have made it unreadable; make it removable first.
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all, ignored);
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace evoc
