// Softmax, sigmoid and argmax over rows (see postprocess.h).
#include "runtime/postprocess.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "ir/error.h"
#include "ir/metrics.h"
#include "ir/schema.h"

namespace evoc {

Output output_from_name(std::string_view name) {
  if (name == "raw") return Output::Raw;
  if (name == "probabilities") return Output::Probabilities;
  if (name == "argmax") return Output::Argmax;
  throw Error("unknown output '" + std::string(name) + "' (choices: raw, probabilities, argmax)");
}

std::size_t output_width(Output mode, std::size_t n_logits) {
  switch (mode) {
    case Output::Raw:
      return n_logits;
    case Output::Probabilities:
      return class_count(n_logits);
    case Output::Argmax:
      return 1;
  }
  return n_logits;
}

Scores scores_of(const ir::Module& m) {
  return m.meta("outputs") == "probabilities" ? Scores::Probabilities : Scores::Logits;
}

std::vector<std::string> class_labels(const ir::Module& m) {
  const std::size_t k = class_count(m.n_out());
  std::vector<std::string> names = ir::class_names(m);
  if (names.empty())
    for (std::size_t c = 0; c < k; ++c) names.push_back("class_" + std::to_string(c));
  if (names.size() != k)
    throw Error(fmt::format("module '{}': metadata 'classes' names {} classes, but its {} output(s) give {}", m.name,
                            names.size(), m.n_out(), k));
  return names;
}

namespace {

void probabilities(std::size_t k, const float* z, float* p, Scores scores) {
  if (scores == Scores::Probabilities) {
    if (k == 1) {
      p[0] = 1.0f - z[0];
      p[1] = z[0];
    } else {
      for (std::size_t c = 0; c < k; ++c) p[c] = z[c];
    }
    return;
  }
  if (k == 1) {
    const float one = 1.0f / (1.0f + std::exp(-z[0]));
    p[0] = 1.0f - one;
    p[1] = one;
    return;
  }
  float top = z[0];
  for (std::size_t c = 1; c < k; ++c) top = std::isnan(z[c]) || z[c] > top ? z[c] : top;
  float sum = 0;
  for (std::size_t c = 0; c < k; ++c) {
    p[c] = std::exp(z[c] - top);
    sum += p[c];
  }
  for (std::size_t c = 0; c < k; ++c) p[c] /= sum;
}

float argmax(std::size_t k, const float* z, Scores scores) {
  return static_cast<float>(metrics::predicted_class(z, k, binary_threshold(scores)));
}

}  // namespace

void postprocess(Output mode, std::size_t n_logits, const float* in, int64_t in_stride, int64_t n, float* out,
                 int64_t out_stride, Scores scores) {
  for (int64_t r = 0; r < n; ++r) {
    const float* z = in + r * in_stride;
    float* o = out + r * out_stride;
    switch (mode) {
      case Output::Raw:
        for (std::size_t c = 0; c < n_logits; ++c) o[c] = z[c];
        break;
      case Output::Probabilities:
        probabilities(n_logits, z, o, scores);
        break;
      case Output::Argmax:
        o[0] = argmax(n_logits, z, scores);
        break;
    }
  }
}

}  // namespace evoc
