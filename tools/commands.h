// The `evoc` subcommands. Each file under tools/ registers one stage's subcommands.
#pragma once

#include <CLI/CLI.hpp>

namespace evoc::tools {

/// What `evoc --help` says of `train` (registered by cmd_train.cpp in evoc-train, and listed by
/// evoc, which hands the command to evoc-train).
inline constexpr const char* kTrainSummary = "Evolve a network on a CSV file or a built-in task; write text IR";

void register_ir_commands(CLI::App& app);      ///< fmt, verify, inspect, dot (cmd_ir.cpp)
void register_run_command(CLI::App& app);      ///< run (cmd_run.cpp)
void register_opt_command(CLI::App& app);      ///< opt (cmd_opt.cpp)
void register_compile_command(CLI::App& app);  ///< compile (cmd_compile.cpp)
void register_bench_command(CLI::App& app);    ///< bench (cmd_bench.cpp)
void register_link_command(CLI::App& app);     ///< link (cmd_link.cpp)
#ifdef EVOC_HAVE_TRAINER
void register_train_command(CLI::App& app);  ///< train (cmd_train.cpp)
#endif

}  // namespace evoc::tools
