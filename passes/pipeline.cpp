// Parser and printer of textual pipelines (see pipeline.h): a small recursive descent.
#include "passes/pipeline.h"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

#include "ir/error.h"
#include "passes/registry.h"

namespace evoc::passes {

namespace {

constexpr std::string_view kFixedPoint = "fixed-point";

class PipelineParser {
 public:
  explicit PipelineParser(std::string_view text) : text_(text) {}

  std::vector<PipelineStep> parse() {
    std::vector<PipelineStep> steps = parse_list();
    if (pos_ < text_.size()) fail(fmt::format("unexpected '{}'", text_[pos_]));
    return steps;
  }

 private:
  std::vector<PipelineStep> parse_list() {
    std::vector<PipelineStep> steps;
    skip_space();
    if (pos_ == text_.size() || text_[pos_] == ')') return steps;  // empty pipeline or group
    for (;;) {
      steps.push_back(parse_step());
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return steps;
    }
  }

  PipelineStep parse_step() {
    skip_space();
    const std::size_t start = pos_;
    while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '-'))
      ++pos_;
    const std::string_view name = text_.substr(start, pos_ - start);
    if (name.empty()) fail("expected a pass name", start);
    skip_space();
    if (name == kFixedPoint) {
      expect('(');
      PipelineStep group{std::string(kFixedPoint), nullptr, parse_list()};
      expect(')');
      return group;
    }
    const PassInfo* info = find_pass(name);
    if (!info) fail(fmt::format("unknown pass '{}' (known passes: {})", name, pass_names()), start);
    return PipelineStep{std::string(name), info->entry, {}};
  }

  void expect(char c) {
    skip_space();
    if (pos_ >= text_.size() || text_[pos_] != c) fail(fmt::format("expected '{}'", c));
    ++pos_;
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }

  [[noreturn]] void fail(const std::string& message) const { fail(message, pos_); }
  [[noreturn]] void fail(const std::string& message, std::size_t at) const {
    throw Error(fmt::format("pipeline '{}': column {}: {}", text_, at + 1, message));
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<PipelineStep> parse_pipeline(std::string_view text) { return PipelineParser(text).parse(); }

std::vector<std::pair<std::string, Exactness>> inexact_passes(const std::vector<PipelineStep>& steps,
                                                              const PassOptions& options) {
  std::vector<std::pair<std::string, Exactness>> found;
  for (const PipelineStep& s : steps) {
    std::vector<std::pair<std::string, Exactness>> here;
    if (!s.entry)
      here = inexact_passes(s.body, options);
    else if (const PassInfo* info = find_pass(s.name); info && info->exactness_under(options) != Exactness::Exact)
      here = {{s.name, info->exactness_under(options)}};
    for (auto& entry : here)
      if (std::find(found.begin(), found.end(), entry) == found.end()) found.push_back(std::move(entry));
  }
  return found;
}

std::string format_pipeline(const std::vector<PipelineStep>& steps) {
  std::string text;
  for (const PipelineStep& s : steps) {
    if (!text.empty()) text += ',';
    text += s.entry ? s.name : fmt::format("{}({})", s.name, format_pipeline(s.body));
  }
  return text;
}

}  // namespace evoc::passes
