// Textual pipelines: `const-fold,fixed-point(simplify,cse),dce`. A pipeline is a list of steps;
// a step is a registered pass name or `fixed-point(...)`, a group repeated until a whole round
// leaves the module unchanged. Whitespace around names is ignored.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "passes/pass.h"

namespace evoc::passes {

/// One step of a pipeline: a pass, or a fixed-point group.
struct PipelineStep {
  std::string name;                ///< the pass name, or "fixed-point" for a group
  PassFn entry = nullptr;          ///< the pass's entry point; null for a group
  std::vector<PipelineStep> body;  ///< a group's steps
};

/// Parses pipeline text; throws evoc::Error naming the column of a syntax error or the unknown
/// pass (with the list of known ones).
std::vector<PipelineStep> parse_pipeline(std::string_view text);
/// The registered passes of a pipeline that are not exact under `options`, each once, in order
/// of first appearance. A pipeline is as exact as the least exact of them.
std::vector<std::pair<std::string, Exactness>> inexact_passes(const std::vector<PipelineStep>& steps,
                                                              const PassOptions& options);
/// The text of a pipeline (parse_pipeline(format_pipeline(p)) has the same steps).
std::string format_pipeline(const std::vector<PipelineStep>& steps);

}  // namespace evoc::passes
