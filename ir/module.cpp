// Module construction helpers, structural queries and the content hash.
#include "ir/module.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "ir/hash.h"
#include "ir/printer.h"

namespace evoc::ir {

namespace {
// Immediates compare bit for bit, except NaNs, which compare by sign only: the text form spells
// a NaN `nan` or `-nan`, so its payload is not part of the IR (and cannot survive a round trip).
bool same_immediate(float a, float b) {
  if (std::isnan(a) && std::isnan(b)) return std::signbit(a) == std::signbit(b);
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!same_immediate(a[i], b[i])) return false;
  return true;
}
}  // namespace

bool Value::operator==(const Value& other) const {
  return op == other.op && args == other.args && same_bits(imms, other.imms);
}

bool Module::operator==(const Module& other) const {
  return name == other.name && input_names == other.input_names && output_names == other.output_names &&
         metadata == other.metadata && values == other.values && outputs == other.outputs;
}

std::string Module::meta(std::string_view key) const {
  for (const auto& [k, v] : metadata)
    if (k == key) return v;
  return {};
}

void Module::set_meta(std::string key, std::string value) {
  for (auto& [k, v] : metadata)
    if (k == key) {
      v = std::move(value);
      return;
    }
  metadata.emplace_back(std::move(key), std::move(value));
}

Module make_module(std::string name, std::size_t n_in, std::vector<std::string> input_names) {
  Module m;
  m.name = std::move(name);
  if (input_names.empty())
    for (std::size_t i = 0; i < n_in; ++i) input_names.push_back("x" + std::to_string(i));
  m.input_names = std::move(input_names);
  m.values.resize(m.input_names.size(), Value{Op::Input, {}, {}});
  return m;
}

ValueId add_value(Module& m, Value v) {
  m.values.push_back(std::move(v));
  return static_cast<ValueId>(m.values.size() - 1);
}

ValueId add_const(Module& m, float c) { return add_value(m, Value{Op::Const, {}, {c}}); }

ValueId add_unary(Module& m, Op op, ValueId x) { return add_value(m, Value{op, {x}, {}}); }

ValueId add_binary(Module& m, Op op, ValueId x, ValueId y) { return add_value(m, Value{op, {x, y}, {}}); }

ValueId add_affine(Module& m, ValueId x, float a, float b) {
  return add_value(m, Value{Op::Affine, {x}, {a, b}});
}

ValueId add_dot(Module& m, std::span<const ValueId> args, std::span<const float> weights, float bias) {
  Value v{Op::Dot, {args.begin(), args.end()}, {weights.begin(), weights.end()}};
  v.imms.push_back(bias);
  return add_value(m, std::move(v));
}

void add_output(Module& m, ValueId v, std::string name) {
  m.outputs.push_back(v);
  m.output_names.push_back(std::move(name));
}

std::vector<uint32_t> use_counts(const Module& m) {
  std::vector<uint32_t> uses(m.values.size(), 0);
  for (const Value& v : m.values)
    for (ValueId a : v.args)
      if (a < uses.size()) ++uses[a];
  for (ValueId o : m.outputs)
    if (o < uses.size()) ++uses[o];
  return uses;
}

std::vector<uint32_t> depths(const Module& m) {
  std::vector<uint32_t> depth(m.values.size(), 0);
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    const Value& v = m.values[i];
    if (v.args.empty()) continue;
    uint32_t d = 0;
    for (ValueId a : v.args)
      if (a < i) d = std::max(d, depth[a]);
    depth[i] = d + 1;
  }
  return depth;
}

std::vector<ValueId> compact(Module& m, const std::vector<bool>& keep) {
  constexpr ValueId kRemoved = std::numeric_limits<ValueId>::max();
  std::vector<ValueId> remap(m.values.size(), kRemoved);
  std::vector<Value> kept;
  kept.reserve(m.values.size());
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    if (i >= m.n_in() && !keep[i]) continue;
    Value v = std::move(m.values[i]);
    for (ValueId& a : v.args) a = remap[a];
    remap[i] = static_cast<ValueId>(kept.size());
    kept.push_back(std::move(v));
  }
  m.values = std::move(kept);
  for (ValueId& o : m.outputs) o = remap[o];
  return remap;
}

uint64_t content_hash(const Module& m) {
  // FNV-1a 64 of the text form, from the seed every published hash was made with (so the hashes
  // in generated headers and cache keys stay what they were).
  return fnv1a(print_module(m), kContentHashSeed);
}

}  // namespace evoc::ir
