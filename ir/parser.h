// Parser for the text form (see printer.h). Errors throw evoc::ParseError with
// `file:line:col: error: message`, the offending line and a caret.
#pragma once

#include <string>
#include <string_view>

#include "ir/module.h"

namespace evoc::ir {

/// Parses `text`; `file` names it in error messages. Ids in the text may be any distinct
/// numbers defined before use; the result is densely renumbered in definition order.
/// The result also passes verify_module.
Module parse_module(std::string_view text, std::string_view file = "<input>");
/// Reads and parses a file (errors name the file; an unreadable file is an evoc::Error).
Module read_module(const std::string& path);

}  // namespace evoc::ir
