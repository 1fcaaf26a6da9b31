// evoc: the command-line driver. One subcommand per stage; see `evoc --help`.
#include <cstdio>
#include <exception>

#include <fmt/core.h>

#include "ir/error.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"evoc: train evolved networks and compile them into native batched kernels"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "evoc 0.1.0");
  evoc::tools::register_ir_commands(app);
  evoc::tools::register_run_command(app);
  evoc::tools::register_opt_command(app);
  evoc::tools::register_compile_command(app);
  evoc::tools::register_bench_command(app);
#ifdef EVOC_HAVE_TRAINER
  evoc::tools::register_train_command(app);
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
    return app.exit(e);
  } catch (const evoc::Error& e) {
    fmt::print(stderr, "evoc: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "evoc: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
