// The verifier: SSA order, arity, immediates, ids in range, inputs first, outputs defined,
// counts consistent, names unique and non-empty. Messages name the value and its op.
#include "ir/verifier.h"

#include <string_view>
#include <unordered_map>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/printer.h"

namespace evoc::ir {

std::vector<std::string> verify_module(const Module& m) {
  std::vector<std::string> problems;
  auto report = [&](std::string message) {
    if (problems.size() < 50) problems.push_back(std::move(message));
  };
  if (m.values.size() < m.n_in())
    report(fmt::format("module declares {} inputs but has only {} values", m.n_in(), m.values.size()));
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    const Value& v = m.values[id];
    if (static_cast<std::size_t>(v.op) >= static_cast<std::size_t>(kNumOps)) {
      report(fmt::format("%{}: invalid op kind {}", id, static_cast<int>(v.op)));
      continue;
    }
    const OpInfo& info = op_info(v.op);
    const bool is_input_slot = id < m.n_in();
    if (is_input_slot != (v.op == Op::Input)) {
      report(is_input_slot
                 ? fmt::format("%{} ({}): values %0..%{} must be the module's inputs", id, info.name,
                               m.n_in() - 1)
                 : fmt::format("%{} (input): input values must be the first {} values", id, m.n_in()));
    }
    if (info.arity >= 0 && v.args.size() != static_cast<std::size_t>(info.arity))
      report(fmt::format("%{} ({}): takes {} operands, has {}", id, info.name, info.arity, v.args.size()));
    const std::size_t want_imms = immediate_count(v.op, v.args.size());
    if (v.imms.size() != want_imms)
      report(fmt::format("%{} ({}): expects {} immediates, has {}", id, info.name, want_imms, v.imms.size()));
    for (ValueId a : v.args)
      if (a >= id) report(fmt::format("%{} ({}): operand %{} is not defined before use", id, info.name, a));
  }
  if (m.outputs.size() != m.output_names.size())
    report(fmt::format("module has {} outputs but {} output names", m.outputs.size(), m.output_names.size()));
  for (std::size_t i = 0; i < m.outputs.size(); ++i)
    if (m.outputs[i] >= m.values.size())
      report(fmt::format("output {} reads undefined value %{}", i, m.outputs[i]));
  // Names are the columns of the CSV files evoc reads and writes: each one once, none empty.
  auto check_names = [&](const std::vector<std::string>& names, std::string_view what) {
    std::unordered_map<std::string_view, std::size_t> first;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) report(fmt::format("{} {} has an empty name", what, i));
      else if (auto [at, fresh] = first.emplace(names[i], i); !fresh)
        report(fmt::format("{}s {} and {} are both named {}", what, at->second, i, quote(names[i])));
    }
  };
  check_names(m.input_names, "input");
  check_names(m.output_names, "output");
  return problems;
}

void verify_or_throw(const Module& m, std::string_view context) {
  auto problems = verify_module(m);
  if (problems.empty()) return;
  std::string message = context.empty() ? "invalid module" : std::string(context);
  message += fmt::format(" ({} problem{}):", problems.size(), problems.size() == 1 ? "" : "s");
  for (const auto& p : problems) message += "\n  " + p;
  throw Error(message);
}

}  // namespace evoc::ir
