// The reference interpreter. Deliberately simple: one row at a time, one value at a time,
// every op through ir/scalar.h with the host FloatArith backend.
#include "ir/interpreter.h"

#include "ir/scalar.h"

namespace evoc::ir {

void Interpreter::run(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  const Module& m = module_;
  float* s = scratch_.data();
  FloatArith b;
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * x_stride;
    for (std::size_t id = 0; id < m.values.size(); ++id) {
      const Value& v = m.values[id];
      switch (v.op) {
        case Op::Input:
          s[id] = row[id];
          break;
        case Op::Const:
          s[id] = const_value(v);
          break;
        case Op::Affine:
          s[id] = scalar::affine(b, s[v.args[0]], affine_scale(v), affine_shift(v));
          break;
        case Op::Dot:
          s[id] = scalar::dot(
              b, v.args.size(), [&](std::size_t i) { return s[v.args[i]]; }, v.imms.data(), dot_bias(v));
          break;
        default:
          s[id] = v.args.size() == 1 ? scalar::unary(b, v.op, s[v.args[0]])
                                     : scalar::binary(b, v.op, s[v.args[0]], s[v.args[1]]);
      }
    }
    float* out = y + r * y_stride;
    for (std::size_t o = 0; o < m.outputs.size(); ++o) out[o] = s[m.outputs[o]];
  }
}

void interpret(const Module& m, const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride) {
  Interpreter(m).run(x, n, x_stride, y, y_stride);
}

std::vector<float> interpret_row(const Module& m, std::span<const float> x) {
  std::vector<float> y(m.n_out());
  interpret(m, x.data(), 1, static_cast<int64_t>(x.size()), y.data(), static_cast<int64_t>(y.size()));
  return y;
}

}  // namespace evoc::ir
