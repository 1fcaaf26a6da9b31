// Engines that `evoc bench` times next to its own (interpreter, C backend, JIT kernel), added
// by other parts of the tool. LibTorch eager lives in the trainer: bench_torch.cpp adds it, so
// that the bench itself includes and links no LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "ir/module.h"

namespace evoc::tools {

/// Scores `n` contiguous rows of the model (n_in floats each) into `y` (n_out floats each).
using BenchRows = std::function<void(const float* x, int64_t n, float* y)>;

/// An extra engine for one model, as its factory builds it.
struct BenchEngine {
  BenchRows run;     ///< empty: the engine takes no part in this run (e.g. an option is absent)
  std::string note;  ///< printed under the tables: what exactly the column computes
};

/// Builds an extra engine from the model file and its module; throws evoc::Error if it cannot.
using BenchEngineFactory = std::function<BenchEngine(const std::string& model_path, const ir::Module& m)>;

/// Adds an engine (a row of the tables) to every later `evoc bench`. Its times are compared
/// with the one-thread JIT kernel like every other engine's; it is not part of the
/// bit-for-bit check, which covers evoc's own engines only.
void add_bench_engine(std::string name, BenchEngineFactory factory);

#ifdef EVOC_HAVE_TRAINER
/// Adds the LibTorch eager engine and the `--checkpoint DIR` option of `evoc bench` that
/// enables it (bench_torch.cpp).
void register_torch_bench_engine(CLI::App& bench);
#endif

}  // namespace evoc::tools
