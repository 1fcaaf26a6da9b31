// The IR module: one function from an input row to an output row, as SSA scalars.
//
// Values live in a vector in definition order and refer to their operands by dense id
// (`ValueId`, printed as `%N`). The first `n_in()` values are the inputs, in order; every other
// value only reads values defined before it. Immediates (a constant's value, an affine's a and b,
// a dot's weights and bias) are stored inline with the value.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ir/ops.h"

namespace evoc::ir {

/// Dense id of a value within its module; printed as `%N`.
using ValueId = uint32_t;

/// One SSA value.
struct Value {
  Op op = Op::Const;
  std::vector<ValueId> args;  ///< operands (empty for leaves)
  /// const: {c}; affine: {a, b} meaning a*v+b; dot: {w_0 .. w_{k-1}, bias}; others: {}.
  std::vector<float> imms;

  bool operator==(const Value& other) const;  ///< bitwise on immediates (NaNs by sign only)
};

/// A module (one evolved network, flattened).
struct Module {
  std::string name;
  std::vector<std::string> input_names;                       ///< one per input; size is n_in
  std::vector<std::string> output_names;                      ///< one per output; size is n_out
  std::vector<std::pair<std::string, std::string>> metadata;  ///< free-form, ordered
  std::vector<Value> values;     ///< definition order; values[0..n_in) are the inputs
  std::vector<ValueId> outputs;  ///< one per output

  std::size_t n_in() const { return input_names.size(); }
  std::size_t n_out() const { return output_names.size(); }

  /// Metadata lookup; empty string if absent.
  std::string meta(std::string_view key) const;
  /// Sets (or replaces) a metadata entry, keeping the order of first insertion.
  void set_meta(std::string key, std::string value);

  bool operator==(const Module& other) const;  ///< structural, bitwise on floats (NaNs by sign only)
};

// ---- construction helpers -------------------------------------------------------------

/// A module with `n_in` inputs named x0.. (or `names`) and no other values yet.
Module make_module(std::string name, std::size_t n_in, std::vector<std::string> input_names = {});
/// Appends a value and returns its id.
ValueId add_value(Module& m, Value v);
ValueId add_const(Module& m, float c);
ValueId add_unary(Module& m, Op op, ValueId x);
ValueId add_binary(Module& m, Op op, ValueId x, ValueId y);
ValueId add_affine(Module& m, ValueId x, float a, float b);
ValueId add_dot(Module& m, std::span<const ValueId> args, std::span<const float> weights, float bias);
/// Appends an output reading `v`.
void add_output(Module& m, ValueId v, std::string name);

// ---- accessors ------------------------------------------------------------------------

inline float const_value(const Value& v) { return v.imms[0]; }
inline float affine_scale(const Value& v) { return v.imms[0]; }
inline float affine_shift(const Value& v) { return v.imms[1]; }
inline float dot_bias(const Value& v) { return v.imms.back(); }

/// Number of uses of each value (operand uses plus output uses).
std::vector<uint32_t> use_counts(const Module& m);
/// Depth of each value: inputs and constants 0, otherwise 1 + max depth of operands.
std::vector<uint32_t> depths(const Module& m);
/// Keeps only values with `keep[id]` (inputs are always kept), renumbering densely.
/// Operands of kept values must be kept. Returns the old->new id map (UINT32_MAX for removed).
std::vector<ValueId> compact(Module& m, const std::vector<bool>& keep);

/// 64-bit content hash of the module's canonical text (stable across runs and machines).
uint64_t content_hash(const Module& m);

}  // namespace evoc::ir
