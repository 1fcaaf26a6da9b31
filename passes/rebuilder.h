// Rebuilder: the one way passes rewrite a module. A pass walks the source module forward and,
// for each value, either copies it (operands renamed), maps it to a value already in the new
// module, or emits replacement values; finishing yields the new module with outputs renamed.
// Because new values are appended in walk order, every operand is defined before its use and
// a pass never has to patch users: it decides once per value, in one sweep.
//
// Constants are hash-consed in the new module: emitting a constant whose bits are already there
// returns the existing one (exact: the two are the same value).
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

#include "ir/module.h"

namespace evoc::passes {

class Rebuilder {
 public:
  /// The id a dropped source value maps to: out of range, so a use of it fails verification.
  static constexpr ir::ValueId kDropped = std::numeric_limits<ir::ValueId>::max();

  /// Starts a new module with the source's inputs, names and metadata.
  explicit Rebuilder(const ir::Module& source);

  const ir::Module& source() const { return source_; }
  /// The value with new id `id`.
  const ir::Value& emitted(ir::ValueId id) const { return result_.values[id]; }
  /// The new id of source value `old` (already mapped: inputs, or earlier in the walk).
  ir::ValueId operator[](ir::ValueId old) const { return map_[old]; }
  /// Source value `old` with its operands renamed into the new module.
  ir::Value renamed(ir::ValueId old) const;

  /// Appends `v` (operands are new ids) and returns its id.
  ir::ValueId emit(ir::Value v);
  /// A constant with exactly the bits of `c`.
  ir::ValueId emit_const(float c);
  /// Records that source value `old` is `now` in the new module.
  void map(ir::ValueId old, ir::ValueId now) { map_[old] = now; }
  /// The constant value of new id `id`, if it is a constant.
  std::optional<float> constant(ir::ValueId id) const;

  /// The new module. Source values mapped to kDropped must have no users left and no outputs.
  ir::Module finish() &&;

 private:
  const ir::Module& source_;
  ir::Module result_;
  std::vector<ir::ValueId> map_;
  std::unordered_map<uint32_t, ir::ValueId> constants_;  // bits -> new id
};

/// Runs `rewrite(rebuilder, old_id)` for every non-input source value in order; it returns the
/// new id the value maps to. Replaces `m` with the result.
template <class Rewrite>
void rebuild(ir::Module& m, Rewrite&& rewrite) {
  Rebuilder r(m);
  for (ir::ValueId id = static_cast<ir::ValueId>(m.n_in()); id < m.values.size(); ++id)
    r.map(id, rewrite(r, id));
  m = std::move(r).finish();
}

}  // namespace evoc::passes
