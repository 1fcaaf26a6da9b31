// Differential checking helpers (see differential.h).
#include "differential.h"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "ir/interpreter.h"
#include "ir/printer.h"
#include "ir/random_module.h"
#include "passes/pass_manager.h"

namespace evoc::test {

std::vector<float> outputs_on(const ir::Module& m, const std::vector<float>& rows) {
  const auto n = static_cast<int64_t>(rows.size() / m.n_in());
  std::vector<float> y(static_cast<std::size_t>(n) * m.n_out());
  ir::interpret(m, rows.data(), n, static_cast<int64_t>(m.n_in()), y.data(), static_cast<int64_t>(m.n_out()));
  return y;
}

std::vector<bool> finite_outputs(const ir::Module& m, const std::vector<float>& rows) {
  ir::Module all = m;  // observe every value as an output
  all.outputs.clear();
  all.output_names.clear();
  for (std::size_t id = 0; id < m.values.size(); ++id) ir::add_output(all, static_cast<ir::ValueId>(id), "v");
  const std::vector<float> values = outputs_on(all, rows);
  const std::size_t n_values = m.values.size(), n_rows = rows.size() / m.n_in();
  std::vector<bool> finite(n_rows * m.n_out());
  std::vector<bool> cone(n_values);
  for (std::size_t k = 0; k < m.n_out(); ++k) {
    std::fill(cone.begin(), cone.end(), false);
    cone[m.outputs[k]] = true;
    for (std::size_t id = n_values; id-- > 0;)
      if (cone[id])
        for (ir::ValueId a : m.values[id].args) cone[a] = true;
    for (std::size_t r = 0; r < n_rows; ++r) {
      bool ok = true;
      for (std::size_t id = 0; ok && id < n_values; ++id) ok = !cone[id] || std::isfinite(values[r * n_values + id]);
      finite[r * m.n_out() + k] = ok;
    }
  }
  return finite;
}

namespace {
double scaled_error(float a, float b) {
  return std::fabs(double(a) - b) / std::max({1.0, std::fabs(double(a)), std::fabs(double(b))});
}
}  // namespace

std::optional<Mismatch> find_mismatch(const ir::Module& original, const ir::Module& optimised,
                                      const std::vector<float>& rows, Compare how, double rtol,
                                      std::size_t* compared) {
  const std::vector<float> want = outputs_on(original, rows);
  const std::vector<float> got = outputs_on(optimised, rows);
  const std::vector<bool> finite =
      how == Compare::Exact ? std::vector<bool>(want.size(), true) : finite_outputs(original, rows);
  for (std::size_t i = 0; i < want.size(); ++i) {
    if (!finite[i]) continue;
    if (compared) ++*compared;
    const float a = want[i], b = got[i];
    const bool same = how == Compare::ToleranceWhereFinite ? scaled_error(a, b) <= rtol : ir::same_float(a, b);
    if (!same) return Mismatch{i / original.n_out(), i % original.n_out(), a, b};
  }
  return std::nullopt;
}

double max_scaled_error(const ir::Module& original, const ir::Module& optimised, const std::vector<float>& rows) {
  const std::vector<float> want = outputs_on(original, rows);
  const std::vector<float> got = outputs_on(optimised, rows);
  const std::vector<bool> finite = finite_outputs(original, rows);
  double worst = 0;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (finite[i]) worst = std::max(worst, scaled_error(want[i], got[i]));
  return worst;
}

std::optional<Mismatch> run_check(const ir::Module& m, const std::vector<float>& rows, const Check& check) {
  ir::Module optimised = m;
  passes::Instrumentation verify;
  verify.verify_each = true;
  passes::run_pipeline(optimised, check.pipeline, check.options, verify);
  return find_mismatch(m, optimised, rows, check.how, check.rtol);
}

namespace {

// `m` with every use of value `from` (operands after it, outputs) reading `to` instead, then dce.
ir::Module replace_uses(ir::Module m, ir::ValueId from, ir::ValueId to) {
  for (ir::Value& v : m.values)
    for (ir::ValueId& a : v.args)
      if (a == from) a = to;
  for (ir::ValueId& out : m.outputs)
    if (out == from) out = to;
  passes::run_pipeline(m, "dce");
  return m;
}

}  // namespace

ir::Module shrink(ir::Module m, const std::function<bool(const ir::Module&)>& still_fails) {
  auto accept = [&](const ir::Module& candidate) {
    if (!still_fails(candidate)) return false;
    m = candidate;
    return true;
  };
  for (std::size_t k = 0; m.n_out() > 1 && k < m.n_out(); ++k) {
    ir::Module single = m;
    single.outputs = {m.outputs[k]};
    single.output_names = {m.output_names[k]};
    passes::run_pipeline(single, "dce");
    if (accept(single)) break;
  }
  for (bool progress = true; progress;) {
    progress = false;
    for (ir::ValueId id = static_cast<ir::ValueId>(m.values.size()); id-- > m.n_in() && !progress;) {
      const ir::Value v = m.values[id];
      for (ir::ValueId a : v.args)
        if ((progress = accept(replace_uses(m, id, a)))) break;
      if (!progress && v.op != ir::Op::Const) {
        ir::Module zeroed = m;
        zeroed.values[id] = ir::Value{ir::Op::Const, {}, {0.0f}};
        passes::run_pipeline(zeroed, "dce");
        progress = accept(zeroed);
      }
    }
  }
  return m;
}

std::string describe_failure(const ir::Module& original, const std::vector<float>& rows, const Check& check) {
  auto still_fails = [&](const ir::Module& m) {
    try {
      return run_check(m, rows, check).has_value();
    } catch (const std::exception&) {
      return true;
    }
  };
  const ir::Module small = shrink(original, still_fails);
  ir::Module optimised = small;
  std::string outcome;
  try {
    passes::Instrumentation verify;
    verify.verify_each = true;
    passes::run_pipeline(optimised, check.pipeline, check.options, verify);
    if (auto bad = find_mismatch(small, optimised, rows, check.how, check.rtol)) {
      std::string row;
      for (std::size_t i = 0; i < small.n_in(); ++i)
        row += (i ? ", " : "") + ir::format_float(rows[bad->row * small.n_in() + i]);
      outcome = fmt::format("output {} on row [{}]: expected {}, got {}", bad->output, row,
                            ir::format_float(bad->expected), ir::format_float(bad->actual));
    }
  } catch (const std::exception& e) {
    outcome = e.what();
  }
  return fmt::format("pipeline '{}'{}: {}\n--- shrunk module ({} of {} values) ---\n{}--- after the pipeline ---\n{}",
                     check.pipeline, check.options.fast_math ? " (fast-math)" : "", outcome, small.values.size(),
                     original.values.size(), ir::print_module(small), ir::print_module(optimised));
}

}  // namespace evoc::test
