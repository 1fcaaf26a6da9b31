// Decodes a fuzzer's bytes into a differential test case: a verified module (a random DAG over
// every op kind, with any f32 immediates) and the input rows to run it on, plus the batch layout.
// Every byte string decodes to some case (missing bytes read as 0), and small changes to the
// bytes make small changes to the module, so that libFuzzer's mutations explore graphs.
//
// Layout: a header (inputs, outputs, rows, values, strides, flags), then one record per value
// (kind, operands as distances back from the newest value, immediates), then the outputs, then
// row cells; rows the bytes do not cover come from ir::random_rows, seeded by the header.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ir/module.h"
#include "ir/ops.h"
#include "ir/random_module.h"

namespace evoc::fuzz {

/// Reads bytes front to back; past the end every read is 0.
class ByteReader {
 public:
  ByteReader(const uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(byte()) << (8 * i);
    return v;
  }
  /// A float: one tag byte picks a special value, a small multiple of 1/4, or 4 raw bytes (any
  /// bit pattern, NaN payloads and subnormals included).
  float f32() {
    static constexpr float kSpecials[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.0f,
                                          std::numeric_limits<float>::infinity(),
                                          -std::numeric_limits<float>::infinity(),
                                          std::numeric_limits<float>::quiet_NaN(),
                                          std::numeric_limits<float>::denorm_min(),
                                          std::numeric_limits<float>::max(),
                                          -std::numeric_limits<float>::max(),
                                          std::numeric_limits<float>::min(), 88.7f, -103.9f, 1e-20f};
    const uint8_t tag = byte();
    switch (tag % 4) {
      case 0:
        return kSpecials[(tag / 4) % std::size(kSpecials)];
      case 1:
        return static_cast<float>(static_cast<int>(tag / 4) - 32) * 0.25f;
      default:
        return std::bit_cast<float>(u32());
    }
  }
  bool done() const { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

/// One decoded case.
struct Case {
  ir::Module module;
  std::vector<float> rows;   ///< rows * x_stride floats; cells past n_in in a row are padding
  int64_t n_rows = 0;
  int64_t x_stride = 0;      ///< >= n_in
  int64_t y_stride = 0;      ///< >= n_out
  uint8_t flags = 0;         ///< free bits for the target (which module to compile, ...)
};

/// Decodes `data` (see the file comment). Always returns a module that passes verify_module.
inline Case decode_case(const uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  Case c;
  const uint32_t n_in = 1 + in.byte() % 6;
  const uint32_t n_out = 1 + in.byte() % 4;
  c.n_rows = 1 + in.byte() % 40;  // covers a few SIMD steps and every remainder
  const uint32_t n_values = 1 + in.byte() % 48;
  c.x_stride = n_in + in.byte() % 3;
  c.y_stride = n_out + in.byte() % 3;
  c.flags = in.byte();

  c.module = ir::make_module("fuzz", n_in);
  ir::Module& m = c.module;
  for (uint32_t i = 0; i < n_values; ++i) {
    const auto defined = static_cast<uint32_t>(m.values.size());
    auto operand = [&] { return static_cast<ir::ValueId>(defined - 1 - in.byte() % defined); };
    const auto op = static_cast<ir::Op>(1 + in.byte() % (ir::kNumOps - 1));  // any kind but input
    ir::Value v{op, {}, {}};
    if (op == ir::Op::Const) {
      v.imms.push_back(in.f32());
    } else if (op == ir::Op::Dot) {
      const int fanin = in.byte() % 7;
      for (int t = 0; t < fanin; ++t) {
        v.args.push_back(operand());
        v.imms.push_back(in.f32());
      }
      v.imms.push_back(in.f32());
    } else {
      for (int a = 0; a < ir::op_info(op).arity; ++a) v.args.push_back(operand());
      if (op == ir::Op::Affine) {
        v.imms.push_back(in.f32());
        v.imms.push_back(in.f32());
      }
    }
    ir::add_value(m, std::move(v));
  }
  const auto total = static_cast<uint32_t>(m.values.size());
  for (uint32_t k = 0; k < n_out; ++k) {
    const ir::ValueId v = k == 0 ? total - 1 : static_cast<ir::ValueId>(total - 1 - in.byte() % total);
    ir::add_output(m, v, "y" + std::to_string(k));
  }

  const uint64_t seed = (static_cast<uint64_t>(c.flags) << 32) | (size * 2654435761u);
  std::vector<float> filler = ir::random_rows(seed, static_cast<std::size_t>(c.n_rows), n_in);
  c.rows.assign(static_cast<std::size_t>(c.n_rows * c.x_stride), std::numeric_limits<float>::quiet_NaN());
  for (int64_t r = 0; r < c.n_rows; ++r)
    for (uint32_t i = 0; i < n_in; ++i)
      c.rows[r * c.x_stride + i] = in.done() ? filler[r * n_in + i] : in.f32();
  return c;
}

}  // namespace evoc::fuzz
