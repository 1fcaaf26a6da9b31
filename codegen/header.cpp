// The C header of an AOT kernel (see header.h).
#include "codegen/header.h"

#include <cctype>

#include <fmt/format.h>

#include "codegen/options.h"

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
