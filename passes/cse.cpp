// cse: common-subexpression elimination by value numbering. Two values with the same op, the
// same operands and bitwise-equal immediates compute the same bits, so the later one is replaced
// by the earlier. Operands of commutative ops are put in one canonical order first (non-constant
// operands before constants, then by id), so that `add %1, %2` and `add %2, %1` meet. Evolved
// networks duplicate work when several heads rebuild the same feature; this merges them.
//
// Exactness: exact. The ops are pure, and the commutative ops of the table give the same bits
// for both operand orders (NaN payloads aside). A dot's term order is part of its semantics, so
// dot terms are never reordered.
#include <bit>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <utility>

#include "ir/hash.h"
#include "passes/passes.h"
#include "passes/rebuilder.h"

namespace evoc::passes {

namespace {

// A value's identity for numbering: op, operands, immediates bit for bit.
struct Key {
  const ir::Value* value;
  bool operator==(const Key& other) const { return *value == *other.value; }
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    std::size_t h = std::hash<int>()(static_cast<int>(k.value->op));
    auto mix = [&](uint64_t x) { h = fnv1a_mix(h, x); };
    for (ir::ValueId a : k.value->args) mix(a);
    for (float f : k.value->imms) mix(std::bit_cast<uint32_t>(f));
    return h;
  }
};

}  // namespace

void eliminate_common_subexpressions(ir::Module& m, const PassOptions&, Counters& counters) {
  // Keys point into `canonical`, which owns one canonical copy per source value.
  std::vector<ir::Value> canonical(m.values.size());
  std::unordered_map<Key, ir::ValueId, KeyHash> numbering;
  rebuild(m, [&](Rebuilder& r, ir::ValueId id) {
    ir::Value& v = canonical[id] = r.renamed(id);
    if (ir::is_commutative(v.op)) {
      auto rank = [&](ir::ValueId a) { return std::pair(r.constant(a).has_value(), a); };
      if (rank(v.args[1]) < rank(v.args[0])) {
        std::swap(v.args[0], v.args[1]);
        counters.add("commutative operands reordered");
      }
    }
    if (v.op == ir::Op::Const) return r.emit(v);  // the rebuilder numbers constants itself
    auto [it, inserted] = numbering.try_emplace(Key{&v}, 0);
    if (inserted) {
      it->second = r.emit(v);
    } else {
      counters.add("duplicate values merged");
    }
    return it->second;
  });
}

}  // namespace evoc::passes
