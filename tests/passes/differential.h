// Differential checking for the optimiser's tests: run an original and an optimised module on
// the same rows with the reference interpreter and compare, bit for bit or within a tolerance,
// everywhere or only where an output's computation is finite (every value the output depends
// on is finite on that row, in the original). A
// failure is reported on the smallest module a greedy shrinker finds that still fails.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ir/module.h"
#include "passes/link.h"
#include "passes/pass.h"

namespace evoc::test {

/// How outputs are compared.
enum class Compare {
  Exact,                 ///< same_float on every output of every row
  ExactWhereFinite,     ///< same_float where the output's computation is finite
  ToleranceWhereFinite  ///< |a - b| <= rtol * max(1, |a|, |b|) there
};

/// One differing output.
struct Mismatch {
  std::size_t row = 0, output = 0;
  float expected = 0, actual = 0;
};

/// Outputs of `m` on `rows` (n_in floats each), row-major.
std::vector<float> outputs_on(const ir::Module& m, const std::vector<float>& rows);
/// For each row and output (row-major), whether every value that output depends on is finite.
std::vector<bool> finite_outputs(const ir::Module& m, const std::vector<float>& rows);
/// The first output on which `optimised` differs from `original`, under `how`. Adds the number
/// of outputs compared to `*compared` if given (so that tests can show they were not vacuous).
std::optional<Mismatch> find_mismatch(const ir::Module& original, const ir::Module& optimised,
                                      const std::vector<float>& rows, Compare how, double rtol = 0,
                                      std::size_t* compared = nullptr);
/// The largest |a - b| / max(1, |a|, |b|) over the outputs whose computation is finite.
double max_scaled_error(const ir::Module& original, const ir::Module& optimised, const std::vector<float>& rows);
/// A differential check to rerun: a pipeline with its options, and how outputs are compared.
struct Check {
  std::string pipeline;
  passes::PassOptions options;
  Compare how = Compare::Exact;
  double rtol = 0;
};

/// The first mismatch of `check` on `m` (the pipeline runs with verification after each pass).
std::optional<Mismatch> run_check(const ir::Module& m, const std::vector<float>& rows, const Check& check);
/// Greedily reduces `m` while `still_fails` holds: keeps a single output, replaces values by one
/// of their operands or by the constant 0, and removes dead values, until nothing helps.
ir::Module shrink(ir::Module m, const std::function<bool(const ir::Module&)>& still_fails);
/// A report of a failing `check` on `original`: the shrunk module before and after the
/// pipeline, the row, and the expected and actual values.
std::string describe_failure(const ir::Module& original, const std::vector<float>& rows, const Check& check);

/// A random ensemble for the linker's tests: members on the inputs of the first, each reading
/// them through one shared standardisation (identical affines, which linking computes once),
/// some with their inputs (and a regressor's outputs) in another order, and random link options
/// (task, combination, sometimes weights).
struct RandomEnsemble {
  std::vector<passes::LinkMember> members;
  passes::LinkOptions options;
};
/// The ensemble of `seed`: `first` (if given) is member 1 and fixes inputs and outputs; the
/// other members are random modules. Members carry the task as metadata or leave it to the options.
RandomEnsemble random_ensemble(uint64_t seed, const ir::Module* first = nullptr);

}  // namespace evoc::test
