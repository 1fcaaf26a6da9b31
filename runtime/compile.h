// Ahead-of-time compilation of a model as `evoc compile` and Python's `evoc.compile` do it: the
// header describes the model as given; every other artifact is built from the model optimised
// at `ir_opt`, and records the content hash of the model as given (so that a library can be
// checked against the model a user holds).
#pragma once

#include "codegen/aot.h"
#include "codegen/options.h"
#include "ir/module.h"

namespace evoc {

/// Compiles `m` (taken as given) to an artifact of `kind`. Throws evoc::Error.
codegen::Artifact compile_model(ir::Module m, codegen::EmitKind kind, codegen::CodegenOptions options, int ir_opt);

}  // namespace evoc
