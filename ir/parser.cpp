// Parser for the text form: a line-oriented recursive-descent reader.
//
// Each line is lexed into tokens (value refs `%N`, keywords, numbers, strings, punctuation);
// `;` starts a comment. Sections come in order: `evir 1`, `module`, then `meta`, `input`,
// value and `output` lines. Every error is a ParseError at the offending token, and nothing
// is allocated in proportion to a number read from the file (only to the text itself).
#include "ir/parser.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_map>

#include <fmt/core.h>

#include "ir/error.h"
#include "ir/printer.h"
#include "ir/file_util.h"
#include "ir/verifier.h"

namespace evoc::ir {
namespace {

constexpr uint64_t kMaxCount = 1u << 24;  // inputs / outputs a module may declare

enum class Tok { End, Ref, Word, Number, String, Punct };

struct Token {
  Tok kind = Tok::End;
  std::string_view text;  // raw text (without quotes for strings)
  int col = 0;            // 1-based
  std::string str;        // decoded string value
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view file) : text_(text), file_(file) {}

  Module parse() {
    Section section = Section::Header;
    while (next_line())
      if (tok_.kind != Tok::End) section = parse_line(section);  // not a blank or comment-only line
    if (section == Section::Header) fail_at(line_no_ ? line_no_ : 1, 1, "empty input: expected 'evir 1'");
    if (section == Section::Module) fail_at(line_no_, 1, "missing 'module' line");
    if (section == Section::Inputs) check_inputs(declared_in_, module_line_, n_in_col_);
    if (module_.outputs.size() != declared_out_)
      fail_at(module_line_, n_out_col_,
              fmt::format("module declares {} outputs but {} output lines follow", declared_out_,
                          module_.outputs.size()));
    auto problems = verify_module(module_);
    if (!problems.empty()) fail_at(module_line_, 1, problems.front());
    return std::move(module_);
  }

 private:
  // ---- lines of the module ----------------------------------------------------------------

  /// Where the parser is in the file: the lines come in this order.
  enum class Section { Header, Module, Inputs, Values, Outputs };

  /// Parses one non-blank line met in `section`; returns the section after it.
  Section parse_line(Section section) {
    if (section == Section::Header) {
      parse_header();
      return Section::Module;
    }
    if (section == Section::Module) {
      parse_module_line();
      return Section::Inputs;
    }
    if (tok_.kind == Tok::Word && tok_.text == "meta") {
      parse_meta();
      return section;
    }
    if (tok_.kind == Tok::Word && tok_.text == "input") {
      if (section != Section::Inputs) fail(tok_, "input declarations must come before every other value");
      parse_input();
      return section;
    }
    if (tok_.kind == Tok::Word && tok_.text == "output") {
      if (section == Section::Inputs) check_inputs(declared_in_, module_line_, n_in_col_);
      parse_output();
      return Section::Outputs;
    }
    if (tok_.kind == Tok::Ref) {
      if (section == Section::Outputs) fail(tok_, "values must come before the output lines");
      if (section == Section::Inputs) check_inputs(declared_in_, module_line_, n_in_col_);
      parse_value();
      return Section::Values;
    }
    fail(tok_, fmt::format("expected a value definition, 'input', 'output' or 'meta', found {}", describe(tok_)));
  }

  /// `evir 1`
  void parse_header() {
    expect_word("evir", "expected 'evir 1' at the start of the file");
    Token v = tok_;
    if (v.kind != Tok::Number) fail(v, "expected a version number after 'evir'");
    if (v.text != "1") fail(v, fmt::format("unsupported evir version {} (this evoc reads version 1)", v.text));
    advance();
    expect_end();
  }

  /// `module "NAME" inputs N outputs M`
  void parse_module_line() {
    expect_word("module", "expected 'module \"NAME\" inputs N outputs M'");
    module_.name = expect_string("module name");
    expect_word("inputs", "expected 'inputs N'");
    n_in_col_ = tok_.col;
    declared_in_ = expect_count("input count");
    expect_word("outputs", "expected 'outputs M'");
    n_out_col_ = tok_.col;
    declared_out_ = expect_count("output count");
    expect_end();
    module_line_ = line_no_;
  }

  /// `meta "KEY" "VALUE"`
  void parse_meta() {
    advance();
    std::string key = expect_string("metadata key");
    std::string value = expect_string("metadata value");
    expect_end();
    for (const auto& kv : module_.metadata)
      if (kv.first == key) fail_line(fmt::format("duplicate metadata key {}", key));
    module_.metadata.emplace_back(std::move(key), std::move(value));
  }

  /// `input %N "NAME"`
  void parse_input() {
    if (module_.values.size() >= declared_in_)
      fail(tok_, fmt::format("more input lines than the {} inputs the module declares", declared_in_));
    advance();
    Token ref = tok_;
    define(ref, expect_ref_id("input value"));
    module_.input_names.push_back(expect_string("input name"));
    expect_end();
    module_.values.push_back(Value{Op::Input, {}, {}});
  }

  /// `output %N "NAME"`
  void parse_output() {
    if (module_.outputs.size() >= declared_out_)
      fail(tok_, fmt::format("more output lines than the {} outputs the module declares", declared_out_));
    advance();
    ValueId v = expect_use();
    module_.outputs.push_back(v);
    module_.output_names.push_back(expect_string("output name"));
    expect_end();
  }

  // ---- lines and tokens -----------------------------------------------------------------

  bool next_line() {
    if (pos_ >= text_.size() && line_no_ > 0) return false;
    if (pos_ > text_.size()) return false;
    std::size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line_ = text_.substr(pos_, end - pos_);
    if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);
    pos_ = end + 1;
    ++line_no_;
    lpos_ = 0;
    advance();
    return true;
  }

  void advance() {
    while (lpos_ < line_.size() && (line_[lpos_] == ' ' || line_[lpos_] == '\t')) ++lpos_;
    tok_ = Token{};
    tok_.col = static_cast<int>(lpos_) + 1;
    if (lpos_ >= line_.size() || line_[lpos_] == ';') {
      tok_.kind = Tok::End;
      return;
    }
    const std::size_t start = lpos_;
    const char c = line_[lpos_];
    auto is_alnum = [](char ch) {
      return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    };
    if (c == '%') {
      ++lpos_;
      while (lpos_ < line_.size() && line_[lpos_] >= '0' && line_[lpos_] <= '9') ++lpos_;
      tok_.kind = Tok::Ref;
    } else if (c == '"') {
      tok_.kind = Tok::String;
      lex_string();
    } else if ((c >= '0' && c <= '9') || c == '.' ||
               ((c == '-' || c == '+') && lpos_ + 1 < line_.size() &&
                (is_alnum(line_[lpos_ + 1]) || line_[lpos_ + 1] == '.'))) {
      tok_.kind = Tok::Number;
      ++lpos_;
      while (lpos_ < line_.size()) {
        char ch = line_[lpos_];
        char prev = line_[lpos_ - 1];
        if (is_alnum(ch) || ch == '.' || ((ch == '-' || ch == '+') && (prev == 'e' || prev == 'E')))
          ++lpos_;
        else
          break;
      }
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      tok_.kind = Tok::Word;
      while (lpos_ < line_.size() && is_alnum(line_[lpos_])) ++lpos_;
    } else if (c == '=' || c == ',' || c == '[' || c == ']' || c == '+') {
      tok_.kind = Tok::Punct;
      ++lpos_;
    } else {
      fail(tok_, fmt::format("unexpected character {}", printable(c)));
    }
    tok_.text = line_.substr(start, lpos_ - start);
  }

  void lex_string() {
    ++lpos_;  // opening quote
    std::string value;
    while (true) {
      if (lpos_ >= line_.size()) fail(tok_, "unterminated string");
      char ch = line_[lpos_++];
      if (ch == '"') break;
      if (ch != '\\') {
        value += ch;
        continue;
      }
      if (lpos_ >= line_.size()) fail(tok_, "unterminated string");
      char e = line_[lpos_++];
      switch (e) {
        case '"':
          value += '"';
          break;
        case '\\':
          value += '\\';
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'x': {
          auto hex = [&](std::size_t at) -> int {
            if (at >= line_.size()) return -1;
            char h = line_[at];
            if (h >= '0' && h <= '9') return h - '0';
            if (h >= 'a' && h <= 'f') return h - 'a' + 10;
            if (h >= 'A' && h <= 'F') return h - 'A' + 10;
            return -1;
          };
          int hi = hex(lpos_), lo = hex(lpos_ + 1);
          if (hi < 0 || lo < 0) fail_at(line_no_, static_cast<int>(lpos_), "\\x needs two hex digits");
          value += static_cast<char>(hi * 16 + lo);
          lpos_ += 2;
          break;
        }
        default:
          fail_at(line_no_, static_cast<int>(lpos_) - 1,
                  e >= 0x20 && e < 0x7f
                      ? fmt::format("unknown escape \\{}", e)
                      : fmt::format("unknown escape (byte 0x{:02x})", static_cast<unsigned char>(e)));
      }
    }
    tok_.str = std::move(value);
  }

  // ---- expectations ---------------------------------------------------------------------

  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return fmt::format("'{}'", c);
    return fmt::format("byte 0x{:02x}", u);
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::End:
        return "end of line";
      case Tok::String:
        return "a string";
      default: {
        std::string s(t.text.substr(0, 40));
        return "'" + s + "'";
      }
    }
  }

  void expect_word(std::string_view word, std::string_view message) {
    if (tok_.kind != Tok::Word || tok_.text != word)
      fail(tok_, fmt::format("{}, found {}", message, describe(tok_)));
    advance();
  }

  void expect_punct(char p, std::string_view what) {
    if (tok_.kind != Tok::Punct || tok_.text[0] != p)
      fail(tok_, fmt::format("expected '{}' {}, found {}", p, what, describe(tok_)));
    advance();
  }

  void expect_end() {
    if (tok_.kind != Tok::End)
      fail(tok_, fmt::format("unexpected {} at the end of the line", describe(tok_)));
  }

  std::string expect_string(std::string_view what) {
    if (tok_.kind != Tok::String)
      fail(tok_, fmt::format("expected {} (a quoted string), found {}", what, describe(tok_)));
    std::string s = std::move(tok_.str);
    advance();
    return s;
  }

  uint64_t expect_count(std::string_view what) {
    Token t = tok_;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
    if (t.kind != Tok::Number || ec == std::errc::invalid_argument || p != t.text.data() + t.text.size())
      fail(t, fmt::format("expected {} (a whole number), found {}", what, describe(t)));
    if (ec == std::errc::result_out_of_range || v > kMaxCount)
      fail(t, fmt::format("{} {} is too large (at most {})", what, t.text, kMaxCount));
    advance();
    return v;
  }

  float expect_float(std::string_view what) {
    Token t = tok_;
    if (t.kind != Tok::Number && !(t.kind == Tok::Word && (t.text == "nan" || t.text == "inf")))
      fail(t, fmt::format("expected {} (a number), found {}", what, describe(t)));
    std::string_view s = t.text;
    bool negative = false;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
      negative = s[0] == '-';
      s.remove_prefix(1);
    }
    float v = 0;
    if (s == "nan") {
      v = std::numeric_limits<float>::quiet_NaN();
    } else if (s == "inf") {
      v = std::numeric_limits<float>::infinity();
    } else {
      if (s.empty() || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
        fail(t, fmt::format("malformed number {}", describe(t)));
      const FloatText read = parse_float(s, v);
      if (read == FloatText::Malformed) fail(t, fmt::format("malformed number {}", describe(t)));
      if (read == FloatText::Overflow) fail(t, fmt::format("number {} is out of the range of f32", describe(t)));
    }
    advance();
    return negative ? -v : v;
  }

  // A `%N` token's number, checked.
  uint32_t expect_ref_id(std::string_view what) {
    Token t = tok_;
    if (t.kind != Tok::Ref) fail(t, fmt::format("expected {} (%N), found {}", what, describe(t)));
    std::string_view digits = t.text.substr(1);
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (digits.empty() || ec == std::errc::invalid_argument) fail(t, "expected digits after '%'");
    if (ec == std::errc::result_out_of_range || id > std::numeric_limits<uint32_t>::max())
      fail(t, fmt::format("value id {} is too large", t.text));
    advance();
    return static_cast<uint32_t>(id);
  }

  // A use of an earlier value: its dense id.
  ValueId expect_use() {
    Token t = tok_;
    uint32_t text_id = expect_ref_id("an operand");
    auto it = ids_.find(text_id);
    if (it == ids_.end()) fail(t, fmt::format("use of undefined value %{}", text_id));
    return it->second;
  }

  void define(const Token& t, uint32_t text_id) {
    auto [it, inserted] = ids_.emplace(text_id, static_cast<ValueId>(module_.values.size()));
    if (!inserted) fail(t, fmt::format("value %{} is defined twice", text_id));
  }

  void check_inputs(uint64_t declared, int module_line, int col) {
    if (module_.values.size() != declared)
      fail_at(module_line, col,
              fmt::format("module declares {} inputs but {} input lines follow", declared,
                          module_.values.size()));
  }

  // `%N = op operands`
  void parse_value() {
    Token def = tok_;
    uint32_t text_id = expect_ref_id("a value");
    expect_punct('=', "after the value name");
    Token op_tok = tok_;
    if (op_tok.kind != Tok::Word)
      fail(op_tok, fmt::format("expected an op name, found {}", describe(op_tok)));
    auto op = op_from_name(op_tok.text);
    if (!op) fail(op_tok, fmt::format("unknown op '{}'", op_tok.text));
    if (*op == Op::Input) fail(op_tok, "inputs are declared with 'input %N \"name\"'");
    advance();
    Value v{*op, {}, {}};
    const OpInfo& info = op_info(*op);
    if (*op == Op::Const) {
      v.imms.push_back(expect_float("the constant"));
    } else if (*op == Op::Dot) {
      expect_punct('[', "to open the dot's terms");
      float bias;
      std::vector<float> weights;
      if (!(tok_.kind == Tok::Punct && tok_.text[0] == ']')) {
        while (true) {
          v.args.push_back(expect_use());
          weights.push_back(expect_float("a weight after the operand"));
          if (tok_.kind == Tok::Punct && tok_.text[0] == ',') {
            advance();
            continue;
          }
          break;
        }
      }
      expect_punct(']', "to close the dot's terms");
      expect_punct('+', "before the dot's bias");
      bias = expect_float("the bias");
      v.imms = std::move(weights);
      v.imms.push_back(bias);
    } else {
      int found = 0;
      while (true) {
        if (tok_.kind == Tok::End) break;
        if (found == info.arity) fail(tok_, arity_message(info, found + 1));
        if (found > 0) expect_punct(',', "between operands");
        if (tok_.kind == Tok::End) fail(tok_, "expected an operand after ','");
        v.args.push_back(expect_use());
        ++found;
        if (*op == Op::Affine) break;
      }
      if (found != info.arity) fail(tok_, arity_message(info, found));
      if (*op == Op::Affine) {
        expect_punct(',', "before the affine's scale");
        v.imms.push_back(expect_float("the affine's scale"));
        expect_punct(',', "before the affine's shift");
        v.imms.push_back(expect_float("the affine's shift"));
      }
    }
    expect_end();
    define(def, text_id);
    module_.values.push_back(std::move(v));
  }

  static std::string arity_message(const OpInfo& info, int found) {
    return fmt::format("'{}' takes {} operand{}, found {}", info.name, info.arity, info.arity == 1 ? "" : "s",
                       found);
  }

  // ---- errors ---------------------------------------------------------------------------

  [[noreturn]] void fail(const Token& t, std::string message) {
    fail_at(line_no_, t.col, std::move(message));
  }
  [[noreturn]] void fail_line(std::string message) { fail_at(line_no_, 1, std::move(message)); }

  [[noreturn]] void fail_at(int line, int col, std::string message) {
    std::string rendered = fmt::format("{}:{}:{}: error: {}", file_, line, col, message);
    if (line == line_no_ && !line_.empty()) {
      std::string shown;
      for (char c : line_.substr(0, 200)) {
        auto u = static_cast<unsigned char>(c);
        shown += (u >= 0x20 && u < 0x7f) || c == '\t' ? c : '?';
      }
      rendered += "\n  " + shown + "\n  " + std::string(col > 1 ? std::min(col - 1, 200) : 0, ' ') + "^";
    }
    throw ParseError(std::string(file_), line, col, std::move(message), std::move(rendered));
  }

  std::string_view text_, file_;
  std::size_t pos_ = 0;
  std::string_view line_;
  int line_no_ = 0;
  std::size_t lpos_ = 0;
  Token tok_;
  Module module_;
  int module_line_ = 0, n_in_col_ = 0, n_out_col_ = 0;  ///< where the module line declares the counts
  uint64_t declared_in_ = 0, declared_out_ = 0;
  std::unordered_map<uint32_t, ValueId> ids_;
};

}  // namespace

Module parse_module(std::string_view text, std::string_view file) { return Parser(text, file).parse(); }

Module read_module(const std::string& path) { return parse_module(read_file(path), path); }

}  // namespace evoc::ir
