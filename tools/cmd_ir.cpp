// evoc fmt | verify | inspect | dot: reading, checking and looking at IR files.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/process.h"
#include "ir/schema.h"
#include "ir/verifier.h"
#include "runtime/engine.h"
#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/scoring.h"

namespace evoc::tools {
namespace {

std::string inspect_text(const ir::Module& m) {
  std::map<std::string_view, int> by_kind;
  std::size_t params = 0;
  for (std::size_t id = m.n_in(); id < m.values.size(); ++id) {
    ++by_kind[ir::op_name(m.values[id].op)];
    params += m.values[id].imms.size();
  }
  auto depth = ir::depths(m);
  uint32_t max_depth = 0;
  for (ir::ValueId o : m.outputs) max_depth = std::max(max_depth, depth[o]);
  std::string out = fmt::format("module {}\n", ir::quote(m.name));
  out += fmt::format("  inputs      {}\n  outputs     {}\n  values      {} ({} besides inputs)\n", m.n_in(),
                     m.n_out(), m.values.size(), m.values.size() - m.n_in());
  out += fmt::format(
      "  depth       {}\n  parameters  {} (constants, affine scales/shifts, dot weights/biases)\n", max_depth,
      params);
  out += fmt::format("  hash        {:016x}\n", ir::content_hash(m));
  if (!m.meta("ensemble.members").empty()) {  // a linked ensemble (evoc link): its members and what they share
    out += fmt::format("  ensemble    {} members, {}; {}\n", m.meta("ensemble.members"), m.meta("ensemble.combine"),
                       m.meta("ensemble.ops"));
    for (std::size_t i = 1; !m.meta(fmt::format("ensemble.member.{}", i)).empty(); ++i)
      out += fmt::format("    member {}  {}\n", i, m.meta(fmt::format("ensemble.member.{}", i)));
    out += fmt::format("    shared    {}\n", m.meta("ensemble.shared"));
  }
  out += "  ops by kind\n";
  for (const auto& [kind, count] : by_kind) out += fmt::format("    {:<10}{}\n", kind, count);
  out += "  inputs:  ";
  for (std::size_t i = 0; i < m.n_in(); ++i) out += (i ? ", " : "") + m.input_names[i];
  out += "\n  outputs: ";
  for (std::size_t i = 0; i < m.n_out(); ++i) out += (i ? ", " : "") + m.output_names[i];
  out += "\n";
  const std::vector<std::string> classes = ir::class_names(m);
  if (m.meta("task") == "classify" || !classes.empty())
    out += fmt::format("  each output: {}\n"
                       "  classes: {}\n",
                       m.meta("outputs") == "probabilities"
                           ? (m.meta("ensemble.combine") == "vote" ? "the share of the members' votes for a class"
                                                                   : "the probability of a class")
                           : "the logit of a class (softmax over them gives the probabilities)",
                       classes.empty() ? std::string("(unnamed: class_0, class_1, ...)") : csv::format_row(classes));
  else if (m.meta("task") == "regress")
    out += "  each output: a predicted value\n";
  if (auto schema = ir::read_schema(m)) {
    out += "  columns (the inputs; a missing cell is NaN, a category its level code):\n";
    for (const ir::ColumnSchema& c : schema->columns)
      out += c.kind == ir::ColumnKind::Numeric
                 ? fmt::format("    {:<16} numeric\n", c.name)
                 : fmt::format("    {:<16} categorical, {} levels: {}\n", c.name, c.levels.size(),
                               csv::format_row(std::vector<std::string>(
                                   c.levels.begin(), c.levels.begin() + std::min<std::size_t>(c.levels.size(), 8))) +
                                   (c.levels.size() > 8 ? ", ..." : ""));
  }
  for (const auto& [k, v] : m.metadata) out += fmt::format("  meta {} = {}\n", k, v);
  return out;
}

std::string dot_label(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

/// Head (dot) edges drawn at most, and the smallest weight drawn relative to the largest.
constexpr std::size_t kHeadEdgesDrawn = 12;
constexpr float kHeadEdgeFloor = 0.05f;

std::string graphviz_text(const ir::Module& m) {
  std::string out =
      fmt::format("digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n", dot_label(m.name));
  for (std::size_t id = 0; id < m.values.size(); ++id) {
    const ir::Value& v = m.values[id];
    if (v.op == ir::Op::Input) {
      out += fmt::format("  v{} [shape=box, style=filled, fillcolor=lightblue, label=\"%{}\\n{}\"];\n", id,
                         id, dot_label(m.input_names[id]));
      continue;
    }
    std::string label = fmt::format("%{} {}", id, ir::op_name(v.op));
    if (v.op == ir::Op::Const) label += " " + ir::format_float(ir::const_value(v));
    if (v.op == ir::Op::Affine)
      label += fmt::format("\\n*{} +{}", ir::format_float(ir::affine_scale(v)),
                           ir::format_float(ir::affine_shift(v)));
    if (v.op == ir::Op::Dot) label += "\\nbias " + ir::format_float(ir::dot_bias(v));
    if (v.op != ir::Op::Dot) {
      out += fmt::format("  v{} [label=\"{}\"];\n", id, label);
      for (ir::ValueId a : v.args) out += fmt::format("  v{} -> v{};\n", a, id);
      continue;
    }
    // A head: edges drawn with a pen width by weight magnitude; the smallest left out (below
    // kHeadEdgeFloor of the largest, or beyond the kHeadEdgesDrawn largest), with a note.
    float largest = 0;
    for (std::size_t a = 0; a < v.args.size(); ++a) largest = std::max(largest, std::fabs(v.imms[a]));
    std::vector<std::size_t> order(v.args.size());
    for (std::size_t a = 0; a < order.size(); ++a) order[a] = a;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return std::fabs(v.imms[x]) > std::fabs(v.imms[y]); });
    std::size_t drawn = 0;
    float smallest_drawn = largest;
    std::string edges;
    for (std::size_t a : order) {
      const float w = std::fabs(v.imms[a]);
      if (drawn >= kHeadEdgesDrawn || !(w >= kHeadEdgeFloor * largest) || w == 0) break;
      edges += fmt::format("  v{} -> v{} [label=\"{:.3g}\", penwidth={:.2f}, color=\"{}\"];\n", v.args[a], id,
                           v.imms[a], 0.3 + 4.0 * w / largest, v.imms[a] < 0 ? "firebrick" : "navy");
      smallest_drawn = w;
      ++drawn;
    }
    if (drawn < v.args.size())
      label += fmt::format("\\n{} of {} edges drawn\\n(the {} with |w| < {:.3g} left out)", drawn, v.args.size(),
                           v.args.size() - drawn, smallest_drawn);
    out += fmt::format("  v{} [label=\"{}\"];\n", id, label) + edges;
  }
  for (std::size_t o = 0; o < m.outputs.size(); ++o) {
    out += fmt::format("  out{} [shape=box, style=filled, fillcolor=lightgoldenrod, label=\"{}\"];\n", o,
                       dot_label(m.output_names[o]));
    out += fmt::format("  v{} -> out{};\n", m.outputs[o], o);
  }
  out += "}\n";
  return out;
}

/// Renders DOT `text` with Graphviz into `path` (format from its extension), atomically: into a
/// temporary file next to it, then renamed. Throws naming the flag when Graphviz is missing.
void render_graph(const std::string& text, const std::string& path) {
  const std::string ext = std::filesystem::path(path).extension().string();
  if (ext != ".svg" && ext != ".png" && ext != ".pdf")
    throw Error(fmt::format("--render {}: the file must end in .svg, .png or .pdf", path));
  TempDir tmp("evoc-dot");
  write_file_atomic(tmp.file("graph.dot"), text);
  const std::string part = path + ".part";
  ProcessResult result;
  try {
    result = run_process({"dot", "-T" + ext.substr(1), "-o", part, tmp.file("graph.dot")});
  } catch (const Error&) {
    throw Error(fmt::format("--render {}: Graphviz's 'dot' is not installed (scripts/bootstrap.sh installs it); "
                            "'evoc dot MODEL -o graph.dot' writes the DOT text",
                            path));
  }
  if (result.status != 0) {
    std::error_code ec;
    std::filesystem::remove(part, ec);
    throw Error(fmt::format("--render {}: Graphviz failed: {}", path, result.output));
  }
  std::filesystem::rename(part, path);
}

}  // namespace

void register_ir_commands(CLI::App& app) {
  {
    auto* cmd = app.add_subcommand("fmt", "Print a model in canonical text form");
    auto file = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    auto annotate = std::make_shared<bool>(false);
    cmd->add_option("FILE", *file, "IR file (.evir)")->required();
    cmd->add_option("-o,--output", *out, "write here instead of stdout (atomically)");
    cmd->add_flag("--annotate", *annotate, "add '; depth, uses' comments to each value");
    cmd->callback([=] {
      ir::Module m = ir::read_module(*file);
      emit_output(*out, ir::print_module(m, {.annotate = *annotate}));
    });
  }
  {
    auto* cmd = app.add_subcommand("verify", "Parse and verify a model; exit 0 if it is well formed");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "IR file (.evir)")->required();
    cmd->callback([=] {
      ir::Module m = ir::read_module(*file);
      fmt::print("{}: ok ({} inputs, {} values, {} outputs)\n", *file, m.n_in(), m.values.size(), m.n_out());
    });
  }
  {
    auto* cmd = app.add_subcommand("inspect", "Summarise a model: counts by kind, depth, parameters, names");
    auto file = std::make_shared<std::string>();
    auto importance = std::make_shared<std::string>();
    auto target = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "IR file (.evir)")->required();
    cmd->add_option("--importance", *importance,
                    "labelled CSV: also print the permutation importance of each input column on its rows");
    cmd->add_option("--target", *target, "with --importance: the target column (default: the model's, else the last)");
    cmd->callback([=] {
      const ir::Module m = ir::read_module(*file);
      fmt::print("{}", inspect_text(m));
      if (!importance->empty()) fmt::print("{}", permutation_importance(m, *importance, *target, default_engine()));
    });
  }
  {
    auto* cmd = app.add_subcommand("dot", "Print the model's DAG as Graphviz DOT");
    auto file = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    cmd->add_option("MODEL", *file, "IR file (.evir)")->required();
    auto render = std::make_shared<std::string>();
    cmd->add_option("-o,--output", *out, "write here instead of stdout (atomically)");
    cmd->add_option("--render", *render, "draw the graph with Graphviz into this .svg, .png or .pdf file");
    cmd->callback([=] {
      const std::string text = graphviz_text(ir::read_module(*file));
      if (render->empty()) return emit_output(*out, text);
      if (!out->empty()) emit_output(*out, text);
      render_graph(text, *render);
    });
  }
}

}  // namespace evoc::tools
