// The linker (see link.h): checks that the members agree, copies each member's values into one
// module (inputs matched by name), appends the combination of their outputs, and optimises the
// result, so that values the members have in common meet in value numbering and are computed
// once. The combination uses existing op kinds only: softmax is max, sub, exp, add and div (of
// two logits, a sigmoid of their difference); a member's vote is an equality test built from sub, mul, min and relu (see vote_scores).
#include "passes/link.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include <fmt/format.h>

#include "ir/error.h"
#include "ir/verifier.h"

namespace evoc::passes {

Combine combine_from_name(std::string_view name) {
  if (name == "mean") return Combine::Mean;
  if (name == "vote") return Combine::Vote;
  throw Error(fmt::format("unknown combination '{}' (choices: mean, vote)", name));
}

const char* combine_name(Combine combine) { return combine == Combine::Mean ? "mean" : "vote"; }

namespace {

using ir::Op;
using ir::ValueId;

/// Metadata entries that describe one run, not the model's interface: members may differ there.
bool per_run_key(std::string_view key) {
  return key.starts_with("trainer.") || key.starts_with("ensemble.") || key == "outputs";
}

bool outputs_are_probabilities(const ir::Module& m) { return m.meta("outputs") == "probabilities"; }

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out.empty() ? "none" : out;
}

/// Throws unless `member` has the same input names as `first` (any order), each once.
void check_inputs(const LinkMember& first, const LinkMember& member) {
  std::set<std::string> seen;
  for (const std::string& name : member.module.input_names)
    if (!seen.insert(name).second)
      throw Error(fmt::format("{}: input '{}' appears twice; members' inputs are matched by name", member.label, name));
  const std::set<std::string> want(first.module.input_names.begin(), first.module.input_names.end());
  if (seen == want) return;
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), seen.begin(), seen.end(), std::back_inserter(missing));
  std::set_difference(seen.begin(), seen.end(), want.begin(), want.end(), std::back_inserter(extra));
  throw Error(fmt::format("{}: inputs differ from {}'s (members' inputs are matched by name): missing {}; not in {}: {}",
                          member.label, first.label, join(missing), first.label, join(extra)));
}

/// Throws unless the members agree on every metadata entry that is not per run.
void check_metadata(const LinkMember& first, const LinkMember& member) {
  std::map<std::string, std::string> a, b;
  for (const auto& [k, v] : first.module.metadata)
    if (!per_run_key(k)) a[k] = v;
  for (const auto& [k, v] : member.module.metadata)
    if (!per_run_key(k)) b[k] = v;
  // The task and the classes first: what a user most likely mixed up.
  std::vector<std::pair<std::string, std::string>> order;
  for (const char* key : {"task", "classes", "target"})
    if (a.count(key)) order.emplace_back(key, a.at(key));
  for (const auto& [k, v] : a)
    if (k != "task" && k != "classes" && k != "target") order.emplace_back(k, v);
  for (const auto& [k, v] : order) {
    auto it = b.find(k);
    if (it == b.end())
      throw Error(fmt::format("{}: has no metadata '{}' but {} has '{}' = '{}'", member.label, k, first.label, k, v));
    if (it->second != v)
      throw Error(fmt::format("{}: metadata '{}' is '{}' but {}'s is '{}'", member.label, k, it->second, first.label, v));
  }
  for (const auto& [k, v] : b)
    if (!a.count(k))
      throw Error(fmt::format("{}: has metadata '{}' = '{}' but {} has none", member.label, k, v, first.label));
}

/// The combination's weights, checked.
std::vector<float> checked_weights(const LinkOptions& options, std::size_t members) {
  if (options.weights.empty()) return std::vector<float>(members, 1.0f);
  if (options.weights.size() != members)
    throw Error(fmt::format("--weights: {} weights for {} members", options.weights.size(), members));
  double sum = 0;
  for (std::size_t i = 0; i < members; ++i) {
    const float w = options.weights[i];
    if (!std::isfinite(w) || w < 0)
      throw Error(fmt::format("--weights: weight {} is {}; weights must be finite and >= 0", i + 1, w));
    sum += w;
  }
  if (sum <= 0) throw Error("--weights: all weights are 0");
  return options.weights;
}

/// Appends values to the ensemble, with constants numbered once.
class Builder {
 public:
  explicit Builder(ir::Module& m) : m_(m) {}
  ValueId c(float v) {
    auto [it, inserted] = consts_.try_emplace(std::bit_cast<uint32_t>(v), 0);
    if (inserted) it->second = ir::add_const(m_, v);
    return it->second;
  }
  ValueId unary(Op op, ValueId x) { return ir::add_unary(m_, op, x); }
  ValueId binary(Op op, ValueId x, ValueId y) { return ir::add_binary(m_, op, x, y); }

  /// Left-to-right chain of a binary op over `xs` (non-empty).
  ValueId chain(Op op, const std::vector<ValueId>& xs) {
    ValueId acc = xs[0];
    for (std::size_t i = 1; i < xs.size(); ++i) acc = binary(op, acc, xs[i]);
    return acc;
  }

  /// Class probabilities of one member's logits: softmax, or sigmoid of a single logit. Two
  /// logits take one exp, not two: p1 = sigmoid(z1 - z0) (z1 - z0 rounds as softmax's z - max
  /// does) and p0 = 1 - p1; the exps are most of what the mean costs.
  std::vector<ValueId> probabilities(const std::vector<ValueId>& z) {
    if (z.size() == 1) return {unary(Op::Sigmoid, z[0])};
    if (z.size() == 2) {
      const ValueId p1 = unary(Op::Sigmoid, binary(Op::Sub, z[1], z[0]));
      return {binary(Op::Sub, c(1.0f), p1), p1};
    }
    const ValueId top = chain(Op::Max, z);
    std::vector<ValueId> e;
    for (ValueId zc : z) e.push_back(unary(Op::Exp, binary(Op::Sub, zc, top)));
    const ValueId inverse = binary(Op::Div, c(1.0f), chain(Op::Add, e));  // one division, not one per class
    std::vector<ValueId> p;
    for (ValueId ec : e) p.push_back(binary(Op::Mul, ec, inverse));
    return p;
  }

  /// 1 where d > 0, 0 where d == 0 (d >= 0, or NaN which stays NaN). Scaling by 2^200 in two
  /// exact steps takes the smallest subnormal to 2^51, so that min(., 1) is exactly 1.
  ValueId positive(ValueId d) {
    const ValueId big = binary(Op::Mul, binary(Op::Mul, d, c(0x1p100f)), c(0x1p100f));
    return binary(Op::Min, big, c(1.0f));
  }

  /// One member's vote: 1 for the first class of highest score, 0 for the others; for a single
  /// score, whether it is above `threshold` (the vote for class 1).
  std::vector<ValueId> vote_scores(const std::vector<ValueId>& s, float threshold) {
    if (s.size() == 1) {
      const ValueId above = threshold == 0.0f ? s[0] : binary(Op::Sub, s[0], c(threshold));
      return {positive(unary(Op::Relu, above))};
    }
    // Finite copies, so that the difference to the maximum is never inf - inf.
    const float most = std::numeric_limits<float>::max();
    std::vector<ValueId> finite;
    for (ValueId x : s) finite.push_back(binary(Op::Max, binary(Op::Min, x, c(most)), c(-most)));
    const ValueId top = chain(Op::Max, finite);
    std::vector<ValueId> votes;
    ValueId taken = 0;
    for (std::size_t k = 0; k < finite.size(); ++k) {
      // is_top = 1 - [top - x > 0]; the first of several tops takes the vote.
      const ValueId is_top = binary(Op::Sub, c(1.0f), positive(binary(Op::Sub, top, finite[k])));
      if (k == 0) {
        votes.push_back(is_top);
        taken = is_top;
        continue;
      }
      votes.push_back(unary(Op::Relu, binary(Op::Sub, is_top, taken)));
      if (k + 1 < finite.size()) taken = binary(Op::Max, taken, is_top);
    }
    return votes;
  }

 private:
  ir::Module& m_;
  std::map<uint32_t, ValueId> consts_;
};

/// Copies `member`'s values into `m` (inputs by name) and returns the ids of its outputs.
std::vector<ValueId> append_member(ir::Module& m, const ir::Module& member) {
  std::map<std::string, ValueId> input_of;
  for (std::size_t i = 0; i < m.n_in(); ++i) input_of[m.input_names[i]] = static_cast<ValueId>(i);
  std::vector<ValueId> remap(member.values.size());
  for (std::size_t i = 0; i < member.n_in(); ++i) remap[i] = input_of.at(member.input_names[i]);
  for (std::size_t id = member.n_in(); id < member.values.size(); ++id) {
    ir::Value v = member.values[id];
    for (ValueId& a : v.args) a = remap[a];
    remap[id] = ir::add_value(m, std::move(v));
  }
  std::vector<ValueId> outs;
  for (ValueId o : member.outputs) outs.push_back(remap[o]);
  return outs;
}

std::map<std::string, int64_t> ops_by_kind(const ir::Module& m) {
  std::map<std::string, int64_t> count;
  for (std::size_t id = m.n_in(); id < m.values.size(); ++id) ++count[std::string(ir::op_name(m.values[id].op))];
  return count;
}

int64_t ops(const ir::Module& m) { return static_cast<int64_t>(m.values.size() - m.n_in()); }

/// A member's description for the metadata: label, size, and its training record if any.
std::string describe_member(const LinkMember& member, const ir::Module& optimised) {
  std::string text = fmt::format("{}: {} ops, module '{}', hash {:016x}", member.label, ops(optimised),
                                 member.module.name, ir::content_hash(member.module));
  for (const auto& [k, v] : member.module.metadata)
    if (k == "trainer.seed" || k.starts_with("trainer.val_")) text += fmt::format(", {} {}", k.substr(8), v);
  return text;
}

/// Checks that the members agree (inputs, metadata, outputs) and returns the task they share.
std::string check_members(std::span<const LinkMember> members, const LinkOptions& options) {
  if (members.empty()) throw Error("link: no members to link");
  const LinkMember& first = members[0];
  for (const LinkMember& member : members) {
    if (const auto problems = ir::verify_module(member.module); !problems.empty())
      throw Error(fmt::format("{}: does not verify: {}", member.label, problems.front()));
    if (&member != &first) {
      check_inputs(first, member);
      check_metadata(first, member);
    } else {
      check_inputs(first, first);  // duplicate input names
    }
  }
  // The task: given, or every member's metadata (which agree, checked above).
  std::string task = options.task.empty() ? first.module.meta("task") : options.task;
  if (task.empty())
    throw Error(fmt::format("{}: no 'task' metadata; say whether the members classify or regress (--task)", first.label));
  if (task != "classify" && task != "regress")
    throw Error(fmt::format("task '{}' is neither 'classify' nor 'regress'", task));
  const bool classify = task == "classify";
  if (!classify && options.combine == Combine::Vote)
    throw Error("--combine vote: the members are regressors (task 'regress'); a vote needs classifiers");
  const std::size_t n_out = first.module.n_out();
  for (const LinkMember& member : members) {
    if (member.module.n_out() == 0) throw Error(fmt::format("{}: has no outputs", member.label));
    if (member.module.n_out() != n_out)
      throw Error(fmt::format("{}: has {} outputs but {} has {}", member.label, member.module.n_out(), first.label, n_out));
    if (classify) continue;
    std::set<std::string> seen(member.module.output_names.begin(), member.module.output_names.end());
    const std::set<std::string> want(first.module.output_names.begin(), first.module.output_names.end());
    if (seen.size() != n_out)
      throw Error(fmt::format("{}: output names repeat; a regressor's outputs are matched by name", member.label));
    if (seen != want)
      throw Error(fmt::format("{}: outputs {} differ from {}'s {} (a regressor's outputs are matched by name)",
                              member.label, join(member.module.output_names), first.label,
                              join(first.module.output_names)));
  }
  return task;
}

/// Appends every (optimised) member to `m`; returns scores[j][i], what member i contributes to
/// output j: a regressor's outputs matched by name, a classifier's probabilities or votes.
std::vector<std::vector<ValueId>> append_members(ir::Module& m, Builder& b, const std::vector<ir::Module>& optimised,
                                                 const ir::Module& first, bool classify, Combine combine) {
  const std::size_t n_out = first.n_out();
  std::vector<std::vector<ValueId>> scores(n_out);
  for (const ir::Module& member : optimised) {
    std::vector<ValueId> outs = append_member(m, member);
    if (!classify) {  // outputs in the first member's order
      for (std::size_t j = 0; j < n_out; ++j) {
        const auto at = std::find(member.output_names.begin(), member.output_names.end(), first.output_names[j]);
        scores[j].push_back(outs[static_cast<std::size_t>(at - member.output_names.begin())]);
      }
      continue;
    }
    const bool probs = outputs_are_probabilities(member);
    std::vector<ValueId> s;
    if (combine == Combine::Mean)
      s = probs ? outs : b.probabilities(outs);
    else
      s = b.vote_scores(outs, probs ? 0.5f : 0.0f);
    for (std::size_t j = 0; j < n_out; ++j) scores[j].push_back(s[j]);
  }
  return scores;
}

/// Adds output j of the ensemble for each scores[j]: a vote counts (exactly, with integer
/// weights) and then divides, so that equal counts give equal shares; a mean weighs by
/// w_i / sum w, one dot and no division.
void add_combined_outputs(ir::Module& m, Builder& b, const std::vector<std::vector<ValueId>>& scores,
                          const std::vector<float>& weights, Combine combine, const std::vector<std::string>& names) {
  float weight_sum = 0;
  for (float w : weights) weight_sum += w;
  std::vector<float> normalised;
  for (float w : weights) normalised.push_back(w / weight_sum);
  for (std::size_t j = 0; j < scores.size(); ++j) {
    const bool vote = combine == Combine::Vote;
    const ValueId sum = ir::add_dot(m, scores[j], vote ? weights : normalised, 0.0f);
    ir::add_output(m, vote ? b.binary(Op::Div, sum, b.c(weight_sum)) : sum, names[j]);
  }
}

/// What the members share, "KIND COUNT, ..." (empty: nothing), and how many ops that is: the
/// optimiser on their union alone, every member output kept.
std::pair<std::string, int64_t> shared_ops(const std::vector<ir::Module>& optimised, const ir::Module& first,
                                           OptLevel level) {
  ir::Module union_only = ir::make_module("union", first.n_in(), first.input_names);
  std::map<std::string, int64_t> union_before;
  for (const ir::Module& member : optimised) {
    // Output names must be unique and non-empty (the verifier); these are never printed.
    for (ValueId v : append_member(union_only, member))
      ir::add_output(union_only, v, fmt::format("out{}", union_only.outputs.size()));
    for (const auto& [kind, count] : ops_by_kind(member)) union_before[kind] += count;
  }
  optimize(union_only, level);
  const auto union_after = ops_by_kind(union_only);
  std::string kinds;
  int64_t saved = 0;
  for (const auto& [kind, count] : union_before) {
    const int64_t left = union_after.count(kind) ? union_after.at(kind) : 0;
    if (count > left) {
      kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, count - left);
      saved += count - left;
    }
  }
  return {kinds, saved};
}

/// The metadata of the ensemble: the interface the members agree on, what the outputs are, and
/// the ensemble's record.
void set_ensemble_metadata(ir::Module& m, std::span<const LinkMember> members, const std::vector<ir::Module>& optimised,
                           const LinkOptions& options, const std::string& task, const std::vector<float>& weights) {
  for (const auto& [k, v] : members[0].module.metadata)
    if (!per_run_key(k)) m.set_meta(k, v);
  m.set_meta("task", task);
  if (task == "classify") m.set_meta("outputs", "probabilities");
  m.set_meta("ensemble.combine", combine_name(options.combine));
  m.set_meta("ensemble.members", std::to_string(members.size()));
  if (!options.weights.empty()) {
    std::string list;
    for (float w : weights) list += (list.empty() ? "" : ",") + fmt::format("{}", w);
    m.set_meta("ensemble.weights", list);
  }
  for (std::size_t i = 0; i < members.size(); ++i)
    m.set_meta(fmt::format("ensemble.member.{}", i + 1), describe_member(members[i], optimised[i]));
}

}  // namespace

ir::Module link_modules(std::span<const LinkMember> members, const LinkOptions& options) {
  const std::string task = check_members(members, options);
  const ir::Module& first = members[0].module;
  const std::vector<float> weights = checked_weights(options, members.size());
  // Each member optimised on its own: its size, and a smaller graph to link.
  std::vector<ir::Module> optimised;
  for (const LinkMember& member : members) {
    optimised.push_back(member.module);
    optimize(optimised.back(), options.level);
  }
  ir::Module m = ir::make_module(options.name.empty() ? "ensemble" : options.name, first.n_in(), first.input_names);
  Builder b(m);
  const auto scores = append_members(m, b, optimised, first, task == "classify", options.combine);
  add_combined_outputs(m, b, scores, weights, options.combine, first.output_names);
  set_ensemble_metadata(m, members, optimised, options, task, weights);

  int64_t member_ops = 0;
  for (const ir::Module& member : optimised) member_ops += ops(member);
  const int64_t linked_ops = ops(m);
  optimize(m, options.level);
  const auto [kinds, saved] = shared_ops(optimised, first, options.level);
  m.set_meta("ensemble.ops", fmt::format("{} ops: members {} + combination {}, {} computed once", ops(m), member_ops,
                                         linked_ops - member_ops, saved));
  m.set_meta("ensemble.shared", saved == 0 ? "nothing" : fmt::format("{} ops computed once ({})", saved, kinds));
  ir::verify_or_throw(m, "link");
  return m;
}

}  // namespace evoc::passes
