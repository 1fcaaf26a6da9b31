// evoc run: apply a model to the rows of a CSV file and write the outputs as CSV.
#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/core.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/engine.h"

namespace evoc::tools {

namespace {

/// Runs the engine over all rows; returns the outputs and the seconds it took.
std::pair<std::vector<float>, double> run_rows(const std::string& engine_name, const ir::Module& m,
                                               const std::vector<float>& x, std::size_t n) {
  std::vector<float> y(n * m.n_out());
  auto engine = make_engine(engine_name, m);
  auto start = std::chrono::steady_clock::now();
  engine->run(x.data(), static_cast<int64_t>(n), static_cast<int64_t>(m.n_in()), y.data(),
              static_cast<int64_t>(m.n_out()));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {std::move(y), seconds};
}

}  // namespace

void register_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a model on the rows of a CSV file");
  struct Options {
    std::string model, input, output, engine = default_engine();
    bool by_name = false, by_position = false, allow_nan = false, timing = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("MODEL", o->model, "IR file (.evir)")->required();
  cmd->add_option("-i,--input", o->input,
                  "CSV whose header names the model's inputs (matched by name, other columns ignored), or "
                  "a headerless CSV whose first n_in columns are the inputs")
      ->required();
  cmd->add_option("-o,--output", o->output, "output CSV (default stdout), written atomically");
  cmd->add_option("--engine", o->engine, "interp (reference interpreter), jit (compiled kernel) or gpu (a CUDA GPU)")
      ->check(CLI::IsMember({"interp", "jit", "gpu"}));
  auto* by_name = cmd->add_flag("--by-name", o->by_name,
                                "pick the input columns by the model's input names (the default for a file "
                                "with a header)");
  cmd->add_flag("--by-position", o->by_position, "take the first n_in columns as the inputs, whatever their names")
      ->excludes(by_name);
  cmd->add_flag("--allow-nan", o->allow_nan, "accept NaN/Inf cells instead of rejecting them");
  cmd->add_flag("--time", o->timing, "print rows per second to stderr");
  cmd->callback([o] {
    ir::Module m = ir::read_module(o->model);
    csv::Table t = csv::read(o->input, {.allow_nan = o->allow_nan, .header_optional = !o->by_name});
    std::vector<float> x = select_inputs(m, t, o->input, o->by_position, "run");
    auto [y, seconds] = run_rows(o->engine, m, x, t.rows());
    emit_output(o->output, csv::format(m.output_names, y.data(), t.rows()));
    if (o->timing)
      fmt::print(stderr, "{} rows in {:.3f} ms ({:.0f} rows/s, engine {})\n", t.rows(), seconds * 1e3,
                 seconds > 0 ? t.rows() / seconds : 0.0, o->engine);
  });

  auto* eval = app.add_subcommand("eval", "Score a model on a labelled CSV: accuracy or R^2, and rows/s");
  struct EvalOptions {
    std::string model, input, target, engine = default_engine();
    int repeat = 1;
    bool by_position = false;
  };
  auto e = std::make_shared<EvalOptions>();
  eval->add_option("MODEL", e->model, "IR file (.evir)")->required();
  eval->add_option("-i,--input", e->input, "CSV with a header: the model's inputs (by name) and the target")
      ->required();
  eval->add_option("--target", e->target,
                   "target column (default: the model's 'target' metadata, else the last)");
  eval->add_flag("--by-position", e->by_position, "take the first n_in columns as the inputs, whatever their names");
  eval->add_option("--engine", e->engine, "interp, jit or gpu (a CUDA GPU)")->check(CLI::IsMember({"interp", "jit", "gpu"}));
  eval->add_option("--repeat", e->repeat, "time this many passes over the rows (best is reported)")
      ->check(CLI::Range(1, 100000));
  eval->callback([e] {
    ir::Module m = ir::read_module(e->model);
    csv::Table t = csv::read(e->input);
    if (t.rows() == 0) throw Error(fmt::format("{}: no rows to score", e->input));
    std::string target = !e->target.empty()          ? e->target
                         : !m.meta("target").empty() ? m.meta("target")
                                                     : t.columns.back();
    std::size_t tcol;
    try {
      tcol = t.column_index(target);
    } catch (const Error& err) {
      throw Error(fmt::format("{}: {}", e->input, err.what()));
    }
    std::vector<float> x = select_inputs(m, t, e->input, e->by_position, "eval", {target});
    const std::size_t n = t.rows(), k = m.n_out();
    auto [y, seconds] = run_rows(e->engine, m, x, n);
    for (int r = 1; r < e->repeat; ++r) seconds = std::min(seconds, run_rows(e->engine, m, x, n).second);
    const bool classify = m.meta("task") == "classify" || (m.meta("task").empty() && k > 1);
    if (classify) {
      const float threshold = m.meta("outputs") == "probabilities" ? 0.5f : 0.0f;
      std::size_t correct = 0;
      for (std::size_t r = 0; r < n; ++r) {
        std::size_t best = 0;
        for (std::size_t c = 1; c < k; ++c)
          if (y[r * k + c] > y[r * k + best]) best = c;
        if (k == 1) best = y[r] > threshold ? 1 : 0;  // a single logit, or probability of class 1
        correct += static_cast<float>(best) == t.at(r, tcol);
      }
      fmt::print("accuracy  {:.4f}  ({} of {} rows)\n", static_cast<double>(correct) / n, correct, n);
    } else {
      double mean = 0, ss_tot = 0, ss_res = 0;
      for (std::size_t r = 0; r < n; ++r) mean += t.at(r, tcol);
      mean /= n;
      // In double: residuals of targets near 1e30 squared in float would overflow to inf.
      for (std::size_t r = 0; r < n; ++r) {
        const double target_value = t.at(r, tcol), residual = target_value - static_cast<double>(y[r * k]);
        ss_tot += (target_value - mean) * (target_value - mean);
        ss_res += residual * residual;
      }
      fmt::print("r2        {:.4f}  (rmse {:.4g}, {} rows)\n", ss_tot > 0 ? 1.0 - ss_res / ss_tot : 0.0,
                 std::sqrt(ss_res / n), n);
    }
    fmt::print("speed     {:.3g} rows/s  ({:.1f} ns/row, engine {}, batch {})\n",
               seconds > 0 ? n / seconds : 0.0, seconds * 1e9 / n, e->engine, n);
  });
}

}  // namespace evoc::tools
