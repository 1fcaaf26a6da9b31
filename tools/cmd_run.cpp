// evoc run: apply a model to the rows of a CSV file and write the outputs as CSV.
// evoc eval: score a model on a labelled CSV file.
//
// A model trained on a raw table (one with a column schema, ir/schema.h) reads the raw cells:
// text categories, missing cells; a classifier writes its predicted class name and the class
// probabilities by default (--output label|probabilities|raw).
#include <algorithm>
#include <chrono>
#include <cmath>

#include <fmt/core.h>

#include "ir/csv.h"
#include "ir/error.h"
#include "ir/metrics.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/schema.h"
#include "runtime/engine.h"
#include "runtime/evaluate.h"
#include "runtime/postprocess.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/scoring.h"

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

/// The rows of a file as the model's inputs: through the model's column schema when it has one
/// (raw cells: categories, missing cells), else as numbers (see select_inputs).
struct ModelRows {
  std::vector<float> x;
  std::size_t n = 0;
  csv::TextTable text;  ///< the cells, when the model has a schema
};

ModelRows read_model_rows(const ir::Module& m, const std::string& path, bool by_name, bool by_position,
                          bool allow_nan) {
  ModelRows rows;
  if (auto schema = ir::read_schema(m)) {
    rows.text = csv::read_text(path);
    rows.x = ir::encode_table(*schema, rows.text);
    rows.n = rows.text.rows();
    return rows;
  }
  csv::Table t = csv::read(path, {.allow_nan = allow_nan, .header_optional = !by_name});
  rows.x = select_inputs(m, t, path, by_position, "run");
  rows.n = t.rows();
  return rows;
}

/// Whether `m` is a classifier: its task metadata says so, or (without one) it names classes;
/// `by_outputs`: or (without task metadata) it has several outputs.
bool is_classifier(const ir::Module& m, bool by_outputs = false) {
  const std::string task = m.meta("task");
  return task == "classify" || (task.empty() && (!ir::class_names(m).empty() || (by_outputs && m.n_out() > 1)));
}

/// The CSV `evoc run` writes for `n` rows of raw outputs `y`: "raw" (the module's outputs),
/// "probabilities" (one column per class), "label" (the predicted class name, in a column named
/// after the target), or "label,probabilities".
std::string format_outputs(const ir::Module& m, const std::vector<float>& y, std::size_t n, const std::string& mode) {
  if (mode == "raw") return csv::format(m.output_names, y.data(), n);
  if (!is_classifier(m, /*by_outputs=*/true))
    throw Error(fmt::format("--output {}: model '{}' is not a classifier (its output is a value; use --output raw)",
                            mode, m.name));
  const std::vector<std::string> classes = class_labels(m);
  const std::size_t k = classes.size(), n_out = m.n_out();
  std::vector<float> p(n * k), label(n);
  const auto rows = static_cast<int64_t>(n);
  const Scores scores = scores_of(m);
  postprocess(Output::Probabilities, n_out, y.data(), static_cast<int64_t>(n_out), rows, p.data(), static_cast<int64_t>(k),
              scores);
  postprocess(Output::Argmax, n_out, y.data(), static_cast<int64_t>(n_out), rows, label.data(), 1, scores);
  if (mode == "probabilities") return csv::format(classes, p.data(), n);
  const bool with_p = mode != "label";
  std::vector<std::string> header = {m.meta("target").empty() ? std::string("label") : m.meta("target")};
  if (with_p) header.insert(header.end(), classes.begin(), classes.end());
  std::string out = csv::format_row(header) + '\n';
  for (std::size_t r = 0; r < n; ++r) {
    out += csv::format_row(std::vector<std::string>{classes[static_cast<std::size_t>(label[r])]});
    if (with_p)
      for (std::size_t c = 0; c < k; ++c) out += ',' + ir::format_float(p[r * k + c]);
    out += '\n';
  }
  return out;
}

/// Class index of each target cell of a classifier's labelled file; throws naming the line of a
/// label that is not one of the model's classes.
std::vector<int> class_indices(const std::vector<std::string>& classes, const std::vector<std::string>& cells,
                               const std::vector<int>& lines, const std::string& file, const std::string& target) {
  std::vector<int> truth;
  for (std::size_t r = 0; r < cells.size(); ++r) {
    const std::string& cell = cells[r];
    auto it = std::find(classes.begin(), classes.end(), cell);
    if (it == classes.end())
      if (auto v = ir::parse_number(cell))  // 5.0 names class 5
        it = std::find(classes.begin(), classes.end(), ir::format_float(*v == 0 ? 0.0f : *v));
    if (it == classes.end())
      throw Error(fmt::format("{}:{}: target '{}' is '{}', which is not a class of the model (classes: {})", file,
                              lines[r], target, cell.substr(0, 40), csv::format_row(classes)));
    truth.push_back(static_cast<int>(it - classes.begin()));
  }
  return truth;
}

/// The class index of each label of a classifier's labelled file.
std::vector<int> class_truth(const ir::Module& m, const std::vector<std::string>& labels, const std::vector<int>& lines,
                             const std::string& file, const std::string& target) {
  const std::vector<std::string> classes = class_labels(m);
  if (!ir::class_names(m).empty()) return class_indices(classes, labels, lines, file, target);
  std::vector<int> truth;  // unnamed classes: the label is the class index
  for (std::size_t r = 0; r < labels.size(); ++r) {
    auto v = ir::parse_number(labels[r]);
    if (!v || *v != std::floor(*v) || *v < 0 || *v >= static_cast<float>(classes.size()))
      throw Error(fmt::format("{}:{}: target '{}' is '{}', not a class index 0..{}", file, lines[r], target,
                              labels[r].substr(0, 40), classes.size() - 1));
    truth.push_back(static_cast<int>(*v));
  }
  return truth;
}

/// The value of each label of a regression's labelled file.
std::vector<double> value_truth(const std::vector<std::string>& labels, const std::vector<int>& lines,
                                const std::string& file, const std::string& target) {
  std::vector<double> truth;
  for (std::size_t r = 0; r < labels.size(); ++r) {
    auto v = ir::parse_number(labels[r]);
    if (!v)
      throw Error(fmt::format("{}:{}: target '{}' is '{}', not a number", file, lines[r], target, labels[r].substr(0, 40)));
    truth.push_back(*v);
  }
  return truth;
}

/// A labelled file read for a model: inputs, labels, and the target's name.
struct Labelled {
  csv::TextTable text;
  std::vector<float> x;
  std::vector<std::string> labels;
  std::string target;
};

Labelled read_labelled(const ir::Module& m, const std::string& path, const std::string& target_flag,
                       bool by_position) {
  Labelled d;
  d.text = csv::read_text(path);
  if (d.text.rows() == 0) throw Error(fmt::format("{}: no rows to score", path));
  d.target = !target_flag.empty() ? target_flag : !m.meta("target").empty() ? m.meta("target") : d.text.columns.back();
  const std::size_t tcol = d.text.column_index(d.target);
  for (std::size_t r = 0; r < d.text.rows(); ++r) d.labels.push_back(d.text.at(r, tcol));
  if (auto schema = ir::read_schema(m)) {
    d.x = ir::encode_table(*schema, d.text);
  } else {
    // The inputs as numbers; the target column may hold class names.
    csv::Table t;
    t.columns = d.text.columns;
    t.values.reserve(d.text.cells.size());
    for (std::size_t r = 0; r < d.text.rows(); ++r)
      for (std::size_t c = 0; c < t.columns.size(); ++c) {
        if (c == tcol) {
          t.values.push_back(0.0f);
          continue;
        }
        const auto v = ir::parse_number(d.text.at(r, c));
        if (!v)
          throw Error(fmt::format("{}:{}: column '{}': cannot read '{}' as a number", path, d.text.lines[r],
                                  t.columns[c], d.text.at(r, c).substr(0, 40)));
        t.values.push_back(*v);
      }
    d.x = select_inputs(m, t, path, by_position, "eval", {d.target});
  }
  return d;
}

}  // namespace

std::string permutation_importance(const ir::Module& m, const std::string& path, const std::string& target,
                                   const std::string& engine_name, int repeats) {
  const Labelled d = read_labelled(m, path, target, /*by_position=*/false);
  Truth truth;
  truth.classify = is_classifier(m, /*by_outputs=*/true);
  if (truth.classify) truth.classes = class_truth(m, d.labels, d.text.lines, path, d.target);
  else truth.values = value_truth(d.labels, d.text.lines, path, d.target);
  const Importance importance = evoc::permutation_importance(m, *make_engine(engine_name, m), d.x, truth, repeats);
  std::string out = fmt::format(
      "permutation importance on {} rows of {} ({} shuffles per column): how much worse the model scores when one "
      "input column's values are shuffled across the rows\n",
      truth.rows(), path, repeats);
  out += truth.classify ? fmt::format("  {:<24}{:>14}{:>16}\n", "column", "log loss rise", "accuracy drop")
                        : fmt::format("  {:<24}{:>14}{:>16}\n", "column", "R^2 drop", "RMSE rise");
  for (const ColumnImportance& c : importance.columns)
    out += fmt::format("  {:<24}{:>14.4f}{:>16.4f}\n", m.input_names[c.input], c.primary, c.secondary);
  out += truth.classify ? fmt::format("  (unshuffled: log loss {:.4f}, accuracy {:.4f})\n", importance.base_primary,
                                      importance.base_secondary)
                        : fmt::format("  (unshuffled: R^2 {:.4f}, RMSE {:.4g})\n", importance.base_primary,
                                      importance.base_secondary);
  return out;
}

void register_run_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("run", "Run a model on the rows of a CSV file");
  struct Options {
    std::string model, input, output, engine = default_engine(), output_kind;
    bool by_name = false, by_position = false, allow_nan = false, timing = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("MODEL", o->model, "IR file (.evir)")->required();
  cmd->add_option("-i,--input", o->input,
                  "CSV whose header names the model's inputs (matched by name, other columns ignored), or "
                  "a headerless CSV whose first n_in columns are the inputs")
      ->required();
  cmd->add_option("-o,--output-file", o->output, "output CSV (default stdout), written atomically");
  cmd->add_option("--engine", o->engine, "interp (reference interpreter), jit (compiled kernel) or gpu (a CUDA GPU)")
      ->check(CLI::IsMember({"interp", "jit", "gpu"}));
  auto* by_name = cmd->add_flag("--by-name", o->by_name,
                                "pick the input columns by the model's input names (the default for a file "
                                "with a header)");
  cmd->add_flag("--by-position", o->by_position, "take the first n_in columns as the inputs, whatever their names")
      ->excludes(by_name);
  cmd->add_flag("--allow-nan", o->allow_nan, "accept NaN/Inf cells instead of rejecting them");
  cmd->add_flag("--time", o->timing, "print rows per second to stderr");
  cmd->add_option("--output", o->output_kind,
                  "label | probabilities | raw | label,probabilities (default: label,probabilities for a "
                  "classifier, raw for regression)")
      ->check(CLI::IsMember({"label", "probabilities", "raw", "label,probabilities"}));
  cmd->callback([o] {
    ir::Module m = ir::read_module(o->model);
    const std::string mode =
        !o->output_kind.empty() ? o->output_kind : is_classifier(m) ? "label,probabilities" : "raw";
    ModelRows rows = read_model_rows(m, o->input, o->by_name, o->by_position, o->allow_nan);
    auto [y, seconds] = run_rows(o->engine, m, rows.x, rows.n);
    emit_output(o->output, format_outputs(m, y, rows.n, mode));
    if (o->timing)
      fmt::print(stderr, "{} rows in {:.3f} ms ({:.0f} rows/s, engine {})\n", rows.n, seconds * 1e3,
                 seconds > 0 ? rows.n / seconds : 0.0, o->engine);
  });

  auto* eval = app.add_subcommand("eval", "Score a model on a labelled CSV: accuracy, log loss, macro F1, confusion matrix, ROC AUC; or R^2, RMSE, MAE");
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
    Labelled d = read_labelled(m, e->input, e->target, e->by_position);
    const csv::TextTable& text = d.text;
    const std::vector<std::string>& labels = d.labels;
    const std::string& target = d.target;
    const std::vector<float>& x = d.x;
    const std::size_t n = text.rows(), k = m.n_out();
    auto [y, seconds] = run_rows(e->engine, m, x, n);
    for (int r = 1; r < e->repeat; ++r) seconds = std::min(seconds, run_rows(e->engine, m, x, n).second);
    if (is_classifier(m, /*by_outputs=*/true)) {
      const std::vector<std::string> classes = class_labels(m);
      const std::vector<int> truth = class_truth(m, labels, text.lines, e->input, target);
      const metrics::Classification s = score_classifier(m, truth, y);
      const std::size_t c = classes.size();
      std::size_t correct = 0;
      for (std::size_t i = 0; i < c; ++i) correct += s.confusion[i][i];
      fmt::print("accuracy  {:.4f}  ({} of {} rows)\n", s.accuracy, correct, n);
      fmt::print("log loss  {:.4f}\n", s.log_loss);
      fmt::print("macro F1  {:.4f}\n", s.macro_f1);
      if (s.roc_auc) fmt::print("ROC AUC   {:.4f}  (class '{}' as positive)\n", *s.roc_auc, classes[1]);
      std::size_t width = 5;
      for (const auto& name : classes) width = std::max(width, name.size() + 1);
      fmt::print("confusion (rows: true class, columns: predicted class)\n{:>{}}", "", width);
      for (const auto& name : classes) fmt::print("{:>{}}", name, width);
      fmt::print("\n");
      for (std::size_t i = 0; i < c; ++i) {
        fmt::print("{:>{}}", classes[i], width);
        for (std::size_t j = 0; j < c; ++j) fmt::print("{:>{}}", s.confusion[i][j], width);
        fmt::print("\n");
      }
    } else {
      const std::vector<double> truth = value_truth(labels, text.lines, e->input, target);
      const metrics::Regression s = metrics::regress(truth, y.data(), k);
      fmt::print("r2        {:.4f}  (rmse {:.4g}, {} rows)\n", s.r2, s.rmse, n);
      fmt::print("rmse      {:.6g}\nmae       {:.6g}\n", s.rmse, s.mae);
    }
    fmt::print("speed     {:.3g} rows/s  ({:.1f} ns/row, engine {}, batch {})\n",
               seconds > 0 ? n / seconds : 0.0, seconds * 1e9 / n, e->engine, n);
  });
}

}  // namespace evoc::tools
