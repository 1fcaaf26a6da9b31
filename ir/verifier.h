// The verifier: the structural invariants every stage keeps, checked after every pass in tests.
#pragma once

#include <string>
#include <vector>

#include "ir/module.h"

namespace evoc::ir {

/// Problems found in `m`, each naming the value (e.g. "%7 (mul): operand %9 is not defined
/// before use"). Empty if the module is well formed.
std::vector<std::string> verify_module(const Module& m);
/// Throws evoc::Error listing the problems (prefixed with `context`) if there are any.
void verify_or_throw(const Module& m, std::string_view context = "");

}  // namespace evoc::ir
