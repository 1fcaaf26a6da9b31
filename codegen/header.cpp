// The C header of an AOT kernel (see header.h).
#include "codegen/header.h"

#include <cctype>
#include <optional>

#include <fmt/format.h>

#include "codegen/options.h"
#include "ir/schema.h"

namespace evoc::codegen {
namespace {

/// A C string literal; bytes outside printable ASCII become octal escapes.
std::string c_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f && c != '?') {  // '?' would risk trigraphs
      out += static_cast<char>(c);
    } else {
      out += fmt::format("\\{:03o}", c);
    }
  }
  return out + "\"";
}

std::string upper(std::string_view s) {
  std::string out;
  for (char c : s) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string name_array(const std::vector<std::string>& names, std::string_view array, std::string_view count) {
  std::string out = fmt::format("static const char* const {}[{} + 1] = {{", array, count);
  for (const auto& name : names) out += c_string(name) + ", ";
  return out + "0};\n";
}

/// What each input and output is: the column schema (category dictionaries and a lookup
/// function for level codes) and the class names of a classifier; empty for a plain module.
std::string table_section(const ir::Module& m, std::string_view symbol, const std::string& macro) {
  std::string h;
  const std::vector<std::string> classes = ir::class_names(m);
  const bool classify = m.meta("task") == "classify" || !classes.empty();
  if (!m.meta("task").empty() || !classes.empty()) {
    h += "\n/* The outputs";
    if (classify)
      h += ": one logit per class (softmax over them gives the class probabilities; the largest is the "
           "predicted class) */\n";
    else
      h += ": the predicted value */\n";
    for (std::size_t o = 0; o < m.n_out(); ++o)
      h += fmt::format("/*   y[{}] {}: {} */\n", o, c_comment_text(c_string(m.output_names[o])),
                       classify ? (o < classes.size() ? "logit of class " + c_comment_text(c_string(classes[o])) : "logit")
                                : std::string("value"));
  }
  if (!classes.empty()) {
    h += fmt::format("#define {}_N_CLASSES {}\n", macro, classes.size());
    h += name_array(classes, fmt::format("{}_class_names", symbol), macro + "_N_CLASSES");
  }
  std::optional<ir::Schema> schema;
  try {
    schema = ir::read_schema(m);
  } catch (const std::exception&) {
    schema.reset();  // the verifier's business; the header then describes plain inputs
  }
  if (!schema) return h;
  h += "\n/* The inputs, one per column of the training table. A numeric column is its value, NaN for a\n"
       "   missing cell; a categorical column is the code of its level (its index in the dictionary\n"
       "   below), NaN for a missing cell or a level the dictionary lacks (read as \"other\"). */\n";
  std::string counts, arrays;
  for (std::size_t i = 0; i < schema->columns.size(); ++i) {
    const ir::ColumnSchema& c = schema->columns[i];
    h += fmt::format("/*   x[{}] {}: {} */\n", i, c_comment_text(c_string(c.name)),
                     c.kind == ir::ColumnKind::Numeric ? std::string("numeric")
                                                       : fmt::format("categorical, {} levels", c.levels.size()));
    if (c.kind == ir::ColumnKind::Categorical) {
      const std::string array = fmt::format("{}_levels_{}", symbol, i);
      h += name_array(c.levels, array, std::to_string(c.levels.size()));
      arrays += array + ", ";
      counts += fmt::format("{}, ", c.levels.size());
    } else {
      arrays += "0, ";
      counts += "0, ";
    }
  }
  h += fmt::format("/* The dictionary of each input (0 for a numeric one) and its size. */\n"
                   "static const char* const* const {0}_input_levels[{1}_N_IN] = {{{2}}};\n"
                   "static const int {0}_input_level_counts[{1}_N_IN] = {{{3}}};\n",
                   symbol, macro, arrays, counts);
  h += fmt::format("/* The code of level `text` of categorical input `input`: its index, or NaN (\"other\"). */\n"
                   "static inline float {0}_level_code(int input, const char* text) {{\n"
                   "  for (int i = 0; i < {0}_input_level_counts[input]; ++i) {{\n"
                   "    const char* a = {0}_input_levels[input][i];\n"
                   "    const char* b = text;\n"
                   "    while (*a && *a == *b) {{ ++a; ++b; }}\n"
                   "    if (*a == *b) return (float)i;\n"
                   "  }}\n"
                   "  return __builtin_nanf(\"\");\n"
                   "}}\n",
                   symbol);
  return h;
}

}  // namespace

std::string kernel_header(const ir::Module& m, std::string_view symbol) {
  const std::string macro = upper(symbol);
  const std::string guard = "EVOC_KERNEL_" + macro + "_H";
  std::string h;
  h += fmt::format("/* {}.h: kernel of model {} compiled by evoc. Generated; do not edit. */\n", symbol,
                   c_comment_text(c_string(m.name)));
  h += fmt::format("#ifndef {0}\n#define {0}\n\n#include <stdint.h>\n\n", guard);
  h += fmt::format("#define {}_N_IN {}\n", macro, m.n_in());
  h += fmt::format("#define {}_N_OUT {}\n", macro, m.n_out());
  h += fmt::format("#define {}_HASH UINT64_C(0x{:016x}) /* content hash of the model */\n\n", macro,
                   ir::content_hash(m));
  h += name_array(m.input_names, fmt::format("{}_input_names", symbol), macro + "_N_IN");
  h += name_array(m.output_names, fmt::format("{}_output_names", symbol), macro + "_N_OUT");
  h += table_section(m, symbol, macro);
  h += "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  h += fmt::format(
      "/* Applies the model to n rows: row r reads x[r*x_stride + 0 .. {0}_N_IN) and writes\n"
      "   y[r*y_stride + 0 .. {0}_N_OUT); strides are in elements. Touches no other memory,\n"
      "   keeps no state: safe to call from several threads on disjoint outputs. */\n"
      "void {1}(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);\n",
      macro, symbol);
  h += "\n#ifdef __cplusplus\n}  /* extern \"C\" */\n#endif\n\n";
  h += fmt::format("#endif /* {} */\n", guard);
  return h;
}

}  // namespace evoc::codegen
