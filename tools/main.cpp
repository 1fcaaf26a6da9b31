// evoc: the command-line driver. One subcommand per stage; see `evoc --help`.
//
// Built twice (tools/CMakeLists.txt): as evoc-train, with every command, and as evoc, without
// LibTorch, which hands the command lines that need it to evoc-train (execv: same process, same
// arguments, same signals).
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "ir/error.h"
#include "tools/commands.h"

#ifdef EVOC_TRAINER_EXECUTABLE
namespace {

/// Whether a command line needs LibTorch: `train`, or `bench --checkpoint DIR`.
bool needs_trainer(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string_view command = argv[1];
  if (command == "train") return true;
  if (command != "bench") return false;
  for (int i = 2; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--checkpoint" || arg.starts_with("--checkpoint=")) return true;
  }
  return false;
}

/// Replaces this process with evoc-train, beside this executable or where it is installed.
/// Returns only if neither can run: then says where it looked, and returns the exit status.
int run_trainer(char** argv) {
  const std::string command = std::string_view(argv[1]) == "train" ? "train" : "bench --checkpoint";
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    fmt::print(stderr, "evoc: error: {}: cannot find this executable (/proc/self/exe: {})\n", command, ec.message());
    return 1;
  }
  std::vector<std::string> tried;
  for (const char* relative : {EVOC_TRAINER_EXECUTABLE, EVOC_TRAINER_INSTALLED}) {
    const std::filesystem::path candidate = (self.parent_path() / relative).lexically_normal();
    execv(candidate.c_str(), argv);
    tried.push_back(fmt::format("{} ({})", candidate.string(), std::strerror(errno)));
  }
  fmt::print(stderr,
             "evoc: error: {}: needs evoc-train, the trainer (LibTorch), which could not be run: {}; rebuild, or "
             "reinstall with the trainer (EVOC_BUILD_TRAINER=ON)\n",
             command, fmt::join(tried, ", "));
  return 1;
}

}  // namespace
#endif

int main(int argc, char** argv) {
#ifdef EVOC_TRAINER_EXECUTABLE
  if (needs_trainer(argc, argv)) return run_trainer(argv);
#endif
  CLI::App app{"evoc: train evolved networks and compile them into native batched kernels"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "evoc 0.1.0");
  evoc::tools::register_ir_commands(app);
  evoc::tools::register_run_command(app);
  evoc::tools::register_opt_command(app);
  evoc::tools::register_compile_command(app);
  evoc::tools::register_bench_command(app);
  evoc::tools::register_link_command(app);
#ifdef EVOC_HAVE_TRAINER
  evoc::tools::register_train_command(app);
#elif defined(EVOC_TRAINER_EXECUTABLE)
  app.add_subcommand("train", evoc::tools::kTrainSummary);  // listed here, run by evoc-train
#endif
  if (argc > 1 && argv[1][0] != '-' && app.get_subcommands([&](CLI::App* sub) {
                                         return sub->get_name() == argv[1];
                                       }).empty()) {
    fmt::print(stderr, "evoc: error: unknown command '{}' (see 'evoc --help' for the commands)\n", argv[1]);
    return 2;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end the parse with a "success" exception; CLI11 prints those.
    if (e.get_exit_code() == 0) return app.exit(e);
    // A malformed command line: one message in evoc's form, naming the subcommand, status 2.
    std::string where;
    for (const CLI::App* sub = &app; !sub->get_subcommands().empty();) {
      sub = sub->get_subcommands().front();
      where += sub->get_name() + ": ";
    }
    const std::string help = where.empty() ? "evoc --help" : "evoc " + where.substr(0, where.size() - 2) + " --help";
    fmt::print(stderr, "evoc: error: {}{}\n(see '{}')\n", where, e.what(), help);
    return 2;
  } catch (const evoc::Error& e) {
    fmt::print(stderr, "evoc: error: {}\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "evoc: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "evoc: error: {}\n", e.what());
    return 1;
  }
  // What stdio still holds is written here: a full disk or a closed pipe is an error, not a
  // silently shortened output.
  errno = 0;
  const bool failed = std::fflush(stdout) != 0 || std::ferror(stdout);
  const int flush_error = errno;
  // The close reports what a file system kept for later (NFS, quotas); a stdout that was never
  // open (`>&-`) is not a failed write.
  if (failed || (std::fclose(stdout) != 0 && errno != EBADF)) {
    const int err = failed ? flush_error : errno;
    fmt::print(stderr, "evoc: error: standard output: cannot write: {}\n", std::strerror(err ? err : EIO));
    return 1;
  }
  return 0;
}
