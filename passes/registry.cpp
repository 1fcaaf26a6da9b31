// The registry table, generated from passes/passes.def.
#include "passes/registry.h"

#include <array>

#include <fmt/core.h>

#include "ir/error.h"
#include "passes/passes.h"

namespace evoc::passes {

namespace {
constexpr std::array kPasses = {
#define EVOC_PASS(name, entry, exactness, fast_math_exactness, description) \
  PassInfo{name, description, Exactness::exactness, Exactness::fast_math_exactness, &entry},
#include "passes/passes.def"
#undef EVOC_PASS
};
}  // namespace

std::span<const PassInfo> registered_passes() { return kPasses; }

const PassInfo* find_pass(std::string_view name) {
  for (const PassInfo& p : kPasses)
    if (p.name == name) return &p;
  return nullptr;
}

std::string pass_names() {
  std::string names;
  for (const PassInfo& p : kPasses) names += fmt::format("{}{}", names.empty() ? "" : ", ", p.name);
  return names;
}

const PassInfo& pass_named(std::string_view name) {
  if (const PassInfo* p = find_pass(name)) return *p;
  throw Error(fmt::format("unknown pass '{}' (known passes: {})", name, pass_names()));
}

std::string pass_list_text() {
  std::string text;
  for (const PassInfo& p : kPasses) {
    std::string exactness(exactness_name(p.exactness));
    if (p.fast_math_exactness != p.exactness)
      exactness += fmt::format(", {} with --fast-math", exactness_name(p.fast_math_exactness));
    text += fmt::format("  {:<20} {}  [{}]\n", p.name, p.description, exactness);
  }
  return text;
}

}  // namespace evoc::passes
