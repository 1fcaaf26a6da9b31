// The canonical printer of the text form.
#include "ir/printer.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/core.h>

namespace evoc::ir {

FloatText parse_float(std::string_view text, float& out) {
  float v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::invalid_argument || end != text.data() + text.size()) return FloatText::Malformed;
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow like overflow and leaves `v` alone; strtof rounds either way
    // as IEEE does (to a denormal or zero, or to infinity) on text from_chars has accepted.
    const std::string copy(text);
    v = std::strtof(copy.c_str(), nullptr);
    if (std::isinf(v)) return FloatText::Overflow;
  }
  out = v;
  return FloatText::Ok;
}

std::string format_float(float f) {
  if (std::isnan(f)) return std::signbit(f) ? "-nan" : "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
  (void)ec;
  return std::string(buf, end);
}

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f)
          out += fmt::format("\\x{:02x}", c);
        else
          out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

namespace {

void print_value(std::string& out, const Module& m, ValueId id) {
  const Value& v = m.values[id];
  out += fmt::format("%{} = {}", id, op_name(v.op));
  switch (v.op) {
    case Op::Const:
      out += " " + format_float(const_value(v));
      break;
    case Op::Affine:
      out += fmt::format(" %{}, {}, {}", v.args[0], format_float(affine_scale(v)),
                         format_float(affine_shift(v)));
      break;
    case Op::Dot: {
      out += " [";
      for (std::size_t i = 0; i < v.args.size(); ++i)
        out += fmt::format("{}%{} {}", i ? ", " : "", v.args[i], format_float(v.imms[i]));
      out += "] + " + format_float(dot_bias(v));
      break;
    }
    default:
      for (std::size_t i = 0; i < v.args.size(); ++i) out += fmt::format("{}%{}", i ? ", " : " ", v.args[i]);
  }
}

}  // namespace

std::string print_module(const Module& m, const PrintOptions& options) {
  std::string out = "evir 1\n";
  out += fmt::format("module {} inputs {} outputs {}\n", quote(m.name), m.n_in(), m.n_out());
  for (const auto& [key, value] : m.metadata) out += fmt::format("meta {} {}\n", quote(key), quote(value));
  std::vector<uint32_t> uses, depth;
  if (options.annotate) {
    uses = use_counts(m);
    depth = depths(m);
  }
  for (ValueId id = 0; id < m.values.size(); ++id) {
    if (id < m.n_in()) {
      out += fmt::format("input %{} {}", id, quote(m.input_names[id]));
    } else {
      print_value(out, m, id);
    }
    if (options.annotate && id < uses.size())
      out += fmt::format("    ; depth {}, uses {}", depth[id], uses[id]);
    out += '\n';
  }
  for (std::size_t i = 0; i < m.outputs.size(); ++i)
    out += fmt::format("output %{} {}\n", m.outputs[i], quote(m.output_names[i]));
  return out;
}

}  // namespace evoc::ir
