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

namespace {

// `m` with affine(x_i; a_i, b_i) inserted for every input (a_i, b_i from `seed`) and read instead
// of the input everywhere.
ir::Module with_standardisation(const ir::Module& m, uint64_t seed) {
  ir::Rng rng(seed);
  ir::Module out = ir::make_module(m.name, m.n_in(), m.input_names);
  out.metadata = m.metadata;
  std::vector<ir::ValueId> remap(m.values.size());
  for (std::size_t i = 0; i < m.n_in(); ++i)
    remap[i] = ir::add_affine(out, static_cast<ir::ValueId>(i), rng.uniform(0.25f, 2.0f), rng.uniform(-1.0f, 1.0f));
  for (std::size_t id = m.n_in(); id < m.values.size(); ++id) {
    ir::Value v = m.values[id];
    for (ir::ValueId& a : v.args) a = remap[a];
    remap[id] = ir::add_value(out, std::move(v));
  }
  for (std::size_t k = 0; k < m.n_out(); ++k) ir::add_output(out, remap[m.outputs[k]], m.output_names[k]);
  return out;
}

// `m` with its inputs in another order (the same function of the same names).
ir::Module permute_inputs(ir::Module m, ir::Rng& rng) {
  const std::size_t n = m.n_in();
  std::vector<ir::ValueId> perm(n);  // new position of old input i
  for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<ir::ValueId>(i);
  for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
  std::vector<std::string> names(n);
  for (std::size_t i = 0; i < n; ++i) names[perm[i]] = m.input_names[i];
  m.input_names = names;
  for (ir::Value& v : m.values)
    for (ir::ValueId& a : v.args)
      if (a < n) a = perm[a];
  return m;
}

}  // namespace

RandomEnsemble random_ensemble(uint64_t seed, const ir::Module* first) {
  ir::Rng rng(seed * 0x9e3779b97f4a7c15ull + 17);
  RandomEnsemble e;
  const bool classify = rng.chance(0.6f);
  e.options.task = classify ? "classify" : "regress";
  e.options.combine = classify && rng.chance(0.5f) ? passes::Combine::Vote : passes::Combine::Mean;
  const bool task_in_metadata = rng.chance(0.5f);
  ir::RandomModuleOptions shape;
  shape.n_in = first ? static_cast<uint32_t>(first->n_in()) : 1 + static_cast<uint32_t>(rng.below(5));
  shape.n_out = first ? static_cast<uint32_t>(first->n_out()) : 1 + static_cast<uint32_t>(rng.below(3));
  const std::size_t count = (first ? 1 : 2) + rng.below(3);
  const uint64_t standardisation = rng.next();
  if (first) e.members.push_back({*first, "member_1"});
  while (e.members.size() < count) {
    shape.n_values = 4 + static_cast<uint32_t>(rng.below(30));
    shape.special_chance = rng.chance(0.3f) ? 0.2f : 0.02f;
    ir::Module m = with_standardisation(ir::random_module(rng.next(), shape), standardisation);
    if (first) {
      m.input_names = first->input_names;
      m.output_names = first->output_names;
    }
    if (rng.chance(0.5f)) m = permute_inputs(std::move(m), rng);
    if (!classify && m.n_out() > 1 && rng.chance(0.5f)) {  // outputs in another order, same names
      std::swap(m.outputs.front(), m.outputs.back());
      std::swap(m.output_names.front(), m.output_names.back());
    }
    e.members.push_back({std::move(m), "member_" + std::to_string(e.members.size() + 1)});
  }
  if (task_in_metadata) {
    for (passes::LinkMember& member : e.members) member.module.set_meta("task", e.options.task);
    e.options.task.clear();
  }
  if (rng.chance(0.3f)) {
    static constexpr float kWeights[] = {0.0f, 0.5f, 1.0f, 2.0f, 3.0f};
    for (std::size_t i = 0; i < e.members.size(); ++i) e.options.weights.push_back(kWeights[rng.below(5)]);
    e.options.weights[rng.below(e.members.size())] = 1.5f;  // never all zero
  }
  return e;
}

}  // namespace evoc::test
