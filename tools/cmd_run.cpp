// evoc run: apply a model to the rows of a CSV file and write the outputs as CSV.
#include <chrono>

#include <fmt/core.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/parser.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/engine.h"

namespace evoc::tools {

void register_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a model on the rows of a CSV file");
  struct Options {
    std::string model, input, output, engine = default_engine();
    bool by_name = false, allow_nan = false, timing = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("MODEL", o->model, "IR file (.evir)")->required();
  cmd->add_option("-i,--input", o->input, "CSV with a header; its first n_in columns are the inputs")
      ->required();
  cmd->add_option("-o,--output", o->output, "output CSV (default stdout), written atomically");
  cmd->add_option("--engine", o->engine, "interp (reference interpreter) or jit (compiled kernel)")
      ->check(CLI::IsMember({"interp", "jit"}));
  cmd->add_flag("--by-name", o->by_name, "pick the input columns by the model's input names");
  cmd->add_flag("--allow-nan", o->allow_nan, "accept NaN/Inf cells instead of rejecting them");
  cmd->add_flag("--time", o->timing, "print rows per second to stderr");
  cmd->callback([o] {
    ir::Module m = ir::read_module(o->model);
    csv::Table t = csv::read(o->input, {.allow_nan = o->allow_nan});
    const std::size_t n_in = m.n_in();
    std::vector<std::size_t> cols;
    if (o->by_name) {
      for (const auto& name : m.input_names) {
        try {
          cols.push_back(t.column_index(name));
        } catch (const Error& e) {
          throw Error(fmt::format("{}: {}", o->input, e.what()));
        }
      }
    } else {
      if (t.cols() < n_in)
        throw Error(fmt::format("{}: has {} columns but model '{}' takes {} inputs", o->input, t.cols(),
                                m.name, n_in));
      for (std::size_t i = 0; i < n_in; ++i) cols.push_back(i);
    }
    const std::size_t n = t.rows();
    std::vector<float> x(n * n_in);
    for (std::size_t r = 0; r < n; ++r)
      for (std::size_t i = 0; i < n_in; ++i) x[r * n_in + i] = t.at(r, cols[i]);
    std::vector<float> y(n * m.n_out());
    auto engine = make_engine(o->engine, m);
    auto start = std::chrono::steady_clock::now();
    engine->run(x.data(), static_cast<int64_t>(n), static_cast<int64_t>(n_in), y.data(),
                static_cast<int64_t>(m.n_out()));
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    emit_output(o->output, csv::format(m.output_names, y.data(), n));
    if (o->timing)
      fmt::print(stderr, "{} rows in {:.3f} ms ({:.0f} rows/s, engine {})\n", n, seconds * 1e3,
                 seconds > 0 ? n / seconds : 0.0, o->engine);
  });
}

}  // namespace evoc::tools
