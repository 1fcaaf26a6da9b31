// The pass registry: every pass by name, with its description, exactness and entry point.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "passes/pass.h"

namespace evoc::passes {

/// One registry row (see passes/passes.def).
struct PassInfo {
  std::string_view name;
  std::string_view description;
  Exactness exactness;            ///< with default options
  Exactness fast_math_exactness;  ///< with PassOptions::fast_math
  PassFn entry;

  /// The exactness of this pass under `options`.
  Exactness exactness_under(const PassOptions& options) const {
    return options.fast_math ? fast_math_exactness : exactness;
  }
};

/// Every registered pass, in registry order.
std::span<const PassInfo> registered_passes();
/// The row named `name`, or nullptr.
const PassInfo* find_pass(std::string_view name);
/// The row named `name`; throws evoc::Error naming the unknown pass and listing the known ones.
const PassInfo& pass_named(std::string_view name);
/// The registered names, comma-separated (for error messages).
std::string pass_names();
/// One line per pass: name, exactness, description (for `evoc opt --list-passes`).
std::string pass_list_text();

}  // namespace evoc::passes
