// Checkpoints: the run state as state.json, written exactly and read back only after every entry
// has been validated (see checkpoint.h for the schema). A network's JSON is network.cpp's format
// (network_to_json); its shape is checked here before network_from_json reads it, and the network
// it gives is checked again (topology and tensor shapes) before anything indexes it.
#include "trainer/checkpoint.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "ir/error.h"
#include "ir/file_util.h"

namespace evoc::trainer {

namespace {

using nlohmann::json;

/// A validation failure at a place in the JSON ("net.layers[0].ops[2]").
struct Invalid {
  std::string message;
};

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw Invalid{where.empty() ? what : where + ": " + what};
}

std::string kind_of(const json& j) {
  if (j.is_number_integer()) return "an integer";
  if (j.is_number()) return "a number";
  if (j.is_string()) return "a string";
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

const json& member(const json& object, const char* key, const std::string& where) {
  if (!object.is_object()) fail(where, fmt::format("is {}, expected an object", kind_of(object)));
  auto it = object.find(key);
  const std::string at = where.empty() ? key : where + "." + key;
  if (it == object.end()) fail(at, "is missing");
  return *it;
}

std::string at(const std::string& where, const char* key) { return where.empty() ? key : where + "." + key; }

int64_t integer(const json& j, const std::string& where, int64_t lo, int64_t hi) {
  if (!j.is_number_integer()) fail(where, fmt::format("is {}, expected an integer", kind_of(j)));
  if (j.is_number_unsigned() && j.get<uint64_t>() > static_cast<uint64_t>(hi))
    fail(where, fmt::format("{} is out of range [{}, {}]", j.get<uint64_t>(), lo, hi));
  const auto v = j.get<int64_t>();
  if (v < lo || v > hi) fail(where, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  return v;
}

int int_member(const json& object, const char* key, const std::string& where, int64_t lo, int64_t hi) {
  return static_cast<int>(integer(member(object, key, where), at(where, key), lo, hi));
}

bool bool_member(const json& object, const char* key, const std::string& where) {
  const json& j = member(object, key, where);
  if (!j.is_boolean()) fail(at(where, key), fmt::format("is {}, expected true or false", kind_of(j)));
  return j.get<bool>();
}

std::string string_member(const json& object, const char* key, const std::string& where) {
  const json& j = member(object, key, where);
  if (!j.is_string()) fail(at(where, key), fmt::format("is {}, expected a string", kind_of(j)));
  return j.get<std::string>();
}

/// A validation loss: a number, not negative (a non-finite loss is saved as the largest double).
double loss_member(const json& object, const char* key, const std::string& where) {
  const json& j = member(object, key, where);
  if (!j.is_number()) fail(at(where, key), fmt::format("is {}, expected a number", kind_of(j)));
  const double v = j.get<double>();
  if (!(v >= 0)) fail(at(where, key), fmt::format("{} is not a loss (a number at least 0)", v));
  return v;
}

const json& array_member(const json& object, const char* key, const std::string& where) {
  const json& j = member(object, key, where);
  if (!j.is_array()) fail(at(where, key), fmt::format("is {}, expected an array", kind_of(j)));
  return j;
}

// ---- the shape of a network's JSON (network_to_json's format) --------------------------------

constexpr int64_t kMaxDim = 1 << 24;

void check_tensor_json(const json& j, const std::string& where) {
  const json& shape = array_member(j, "shape", where);
  const json& bits = array_member(j, "bits", where);
  if (shape.size() > 4) fail(at(where, "shape"), "has more than 4 dimensions");
  int64_t count = 1;
  for (std::size_t d = 0; d < shape.size(); ++d) {
    count *= integer(shape[d], fmt::format("{}.shape[{}]", where, d), 0, kMaxDim);
    if (count > kMaxDim) fail(at(where, "shape"), "is too large");
  }
  if (static_cast<int64_t>(bits.size()) != count)
    fail(at(where, "bits"), fmt::format("holds {} values, the shape needs {}", bits.size(), count));
  for (std::size_t i = 0; i < bits.size(); ++i)
    integer(bits[i], fmt::format("{}.bits[{}]", where, i), 0, std::numeric_limits<uint32_t>::max());
}

void check_param_json(const json& j, const std::string& where) {
  for (const char* key : {"value", "m", "v"}) check_tensor_json(member(j, key, where), at(where, key));
}

void check_operand_json(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() != 2) fail(where, "expected an operand [kind, index]");
  integer(j[0], where + "[0]", 0, 2);  // Operand::Kind: input, op, scalar
  integer(j[1], where + "[1]", 0, kMaxDim);
}

void check_layer_json(const json& j, const std::string& where) {
  int_member(j, "n_in", where, 1, kMaxDim);
  int_member(j, "n_out", where, 1, kMaxDim);
  const json& ops = array_member(j, "ops", where);
  for (std::size_t k = 0; k < ops.size(); ++k) {
    const std::string op_at = fmt::format("{}.ops[{}]", where, k);
    const json& op = ops[k];
    if (!op.is_array() || op.size() != 3 || !op[0].is_string())
      fail(op_at, "expected [\"kind\", operand, operand]");
    auto kind = ir::op_from_name(op[0].get<std::string>());
    if (!kind || !(ir::is_unary(*kind) || ir::is_binary(*kind)))
      fail(op_at, fmt::format("'{}' is not an evolved op kind", op[0].get<std::string>()));
    check_operand_json(op[1], op_at + "[1]");
    check_operand_json(op[2], op_at + "[2]");
  }
  for (const char* key : {"scalars", "weight", "bias"}) check_param_json(member(j, key, where), at(where, key));
  for (const char* key : {"running_mean", "running_var"}) check_tensor_json(member(j, key, where), at(where, key));
}

/// Reads a network after checking its JSON has the shape network_to_json writes; then checks
/// the network itself.
Network read_network(const json& j, const std::string& where, torch::Device device) {
  const std::string norm = string_member(j, "norm", where);
  if (norm != "batch" && norm != "l2batch" && norm != "none")
    fail(at(where, "norm"), fmt::format("unknown normalisation '{}'", norm));
  const std::string activation = string_member(j, "activation", where);
  if (activation != "none" && activation != "relu" && activation != "tanh" && activation != "sigmoid")
    fail(at(where, "activation"), fmt::format("unknown activation '{}'", activation));
  integer(member(j, "step", where), at(where, "step"), 0, std::numeric_limits<int64_t>::max());
  const json& layers = array_member(j, "layers", where);
  if (layers.empty()) fail(at(where, "layers"), "is empty");
  for (std::size_t l = 0; l < layers.size(); ++l) check_layer_json(layers[l], fmt::format("{}.layers[{}]", where, l));
  check_tensor_json(member(j, "in_scale", where), at(where, "in_scale"));
  check_tensor_json(member(j, "in_shift", where), at(where, "in_shift"));
  if (j.contains("out_scale") != j.contains("out_shift")) fail(where, "has only one of out_scale and out_shift");
  if (j.contains("out_scale")) {
    check_tensor_json(j.at("out_scale"), at(where, "out_scale"));
    check_tensor_json(j.at("out_shift"), at(where, "out_shift"));
  }
  Network net;
  try {
    net = network_from_json(j, device);
  } catch (const Error& e) {
    fail(where, e.what());
  } catch (const std::exception&) {  // never pass a library's text on
    fail(where, "is not a network");
  }
  try {
    check_network(net);
  } catch (const Error& e) {
    fail(where, e.what());
  }
  return net;
}

// ---- generator states -------------------------------------------------------------------------

std::string engine_state(const Random& random) {
  std::ostringstream out;
  out << random.engine();
  return out.str();
}

Random read_engine(const json& object, const char* key) {
  const std::string text = string_member(object, key, "");
  std::istringstream in(text);
  Random random;
  in >> random.engine();
  if (in.fail() || !(in >> std::ws).eof())
    fail(key, "is not a random generator state (312 unsigned 64-bit numbers and a position)");
  return random;
}

// ---- the run --------------------------------------------------------------------------------

/// Throws unless every network of the run reads the same features and has the same outputs.
void check_agreement(const Checkpoint& c) {
  const RunState& run = c.run;
  auto shape = [](const Network& net) {
    return std::pair{net.in_scale.size(0), static_cast<int64_t>(net.layers.back().n_out)};
  };
  const auto expected = shape(run.net);
  auto agree = [&](const Network& net, const char* name) {
    if (shape(net) != expected || net.out_scale.defined() != run.net.out_scale.defined() || net.norm != run.net.norm)
      fail(name, fmt::format("has {} inputs and {} outputs ({} normalisation), net has {} and {} ({})",
                             shape(net).first, shape(net).second, norm_name(net.norm), expected.first,
                             expected.second, norm_name(run.net.norm)));
  };
  agree(run.best.net, "evolved");
  agree(c.output, "best");
  if (run.pending) agree(run.before, "before");
  if (run.has_linear) {
    agree(run.linear, "linear");
    agree(run.linear_best.net, "linear_best");
    if (run.linear.total_ops() != 0) fail("linear", "has ops (the linear model never grows)");
    if (run.linear_best.net.total_ops() != 0) fail("linear_best", "has ops (the linear model never grows)");
  }
}

Checkpoint read_checkpoint_json(const json& j, torch::Device device, bool island = false) {
  if (!j.is_object()) fail("", fmt::format("the file holds {}, expected an object", kind_of(j)));
  const int version = int_member(j, "version", "", std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
  if (version != kCheckpointVersion)
    fail("version", fmt::format("{} (this evoc reads version {})", version, kCheckpointVersion));
  Checkpoint c;
  c.fingerprint = string_member(j, "fingerprint", "");
  const json& hash = member(j, "data_hash", "");
  if (!hash.is_number_unsigned()) fail("data_hash", fmt::format("is {}, expected an unsigned integer", kind_of(hash)));
  c.data_hash = hash.get<uint64_t>();
  RunState& run = c.run;
  run.epoch = int_member(j, "epoch", "", 0, kMaxEpochs);
  run.accepted = int_member(j, "accepted", "", 0, run.epoch);
  run.reverted = int_member(j, "reverted", "", 0, run.epoch - run.accepted);
  run.random = read_engine(j, "random");
  run.growth = read_engine(j, "growth");
  run.net = read_network(member(j, "net", ""), "net", device);
  run.pending = bool_member(j, "pending", "");
  if (run.pending) {
    if (run.epoch == 0) fail("pending", "a mutation cannot be pending before the first epoch");
    run.before = read_network(member(j, "before", ""), "before", device);
  }
  run.best.net = read_network(member(j, "evolved", ""), "evolved", device);
  run.best.val_loss = loss_member(j, "best_val", "");
  run.best.epoch = int_member(j, "best_epoch", "", 0, run.epoch);
  run.stale = int_member(j, "stale", "", 0, run.epoch);
  run.has_linear = bool_member(j, "has_linear", "");
  if (run.has_linear) {
    run.linear = read_network(member(j, "linear", ""), "linear", device);
    run.linear_best.net = read_network(member(j, "linear_best", ""), "linear_best", device);
    run.linear_best.val_loss = loss_member(j, "linear_best_val", "");
    run.linear_best.epoch = int_member(j, "linear_best_epoch", "", 0, run.epoch);
  }
  c.output = read_network(member(j, "best", ""), "best", device);
  check_agreement(c);
  if (j.contains("islands")) {
    if (island) fail("islands", "an island holds no islands");
    const json& islands = array_member(j, "islands", "");
    if (islands.empty()) fail("islands", "is empty (an islands run has at least two ranks)");
    for (std::size_t i = 0; i < islands.size(); ++i) {
      const std::string where = fmt::format("islands[{}]", i);
      try {
        c.islands.push_back(read_checkpoint_json(islands[i], device, true));
      } catch (const Invalid& e) {
        fail(where, e.message);
      }
      const Checkpoint& other = c.islands.back();
      if (other.fingerprint != c.fingerprint || other.data_hash != c.data_hash || other.run.epoch != run.epoch)
        fail(where, "has another fingerprint, data_hash or epoch than rank 0's state");
      const auto inputs = [](const Checkpoint& k) { return k.run.net.in_scale.size(0); };
      if (inputs(other) != inputs(c) || other.run.net.layers.back().n_out != run.net.layers.back().n_out)
        fail(where, "has other inputs or outputs than rank 0's networks");
    }
  }
  return c;
}

}  // namespace

bool BestNetwork::offer(const Network& candidate, double loss, int at_epoch) {
  if (!(loss < val_loss)) return false;
  net = clone(candidate);
  val_loss = loss;
  epoch = at_epoch;
  return true;
}

nlohmann::json checkpoint_to_json(const Checkpoint& c) {
  const RunState& run = c.run;
  json j = {{"version", kCheckpointVersion}, {"fingerprint", c.fingerprint}, {"data_hash", c.data_hash},
            {"epoch", run.epoch}, {"accepted", run.accepted}, {"reverted", run.reverted},
            {"random", engine_state(run.random)}, {"growth", engine_state(run.growth)},
            {"net", network_to_json(run.net)}, {"pending", run.pending},
            {"best_val", run.best.val_loss}, {"best_epoch", run.best.epoch}, {"stale", run.stale},
            {"evolved", network_to_json(run.best.net)}, {"best", network_to_json(c.output)},
            {"has_linear", run.has_linear}};
  if (run.pending) j["before"] = network_to_json(run.before);
  if (run.has_linear) {
    j["linear"] = network_to_json(run.linear);
    j["linear_best"] = network_to_json(run.linear_best.net);
    j["linear_best_val"] = run.linear_best.val_loss;
    j["linear_best_epoch"] = run.linear_best.epoch;
  }
  if (!c.islands.empty()) {
    j["islands"] = json::array();
    for (const Checkpoint& island : c.islands) j["islands"].push_back(checkpoint_to_json(island));
  }
  return j;
}

Checkpoint checkpoint_from_text(const std::string& text, const std::string& file, torch::Device device) {
  auto invalid = [&](const std::string& why) {
    return Error(fmt::format("{}: not a valid checkpoint: {}", file, why));
  };
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw invalid(fmt::format("not JSON (syntax error at byte {})", e.byte));
  } catch (const json::exception&) {  // out_of_range 406: a number beyond a double
    throw invalid("not JSON this reader takes (a number beyond the range of a double)");
  }
  try {
    return read_checkpoint_json(j, device);
  } catch (const Invalid& e) {
    throw invalid(e.message);
  } catch (const Error& e) {
    throw invalid(e.what());
  } catch (const std::exception&) {  // never pass a library's text on
    throw invalid("inconsistent content");
  }
}

Checkpoint read_checkpoint(const std::string& dir, torch::Device device) {
  const std::string path = (std::filesystem::path(dir) / kStateFile).string();
  return checkpoint_from_text(read_file(path), path, device);
}

int checkpoint_epoch(const std::string& dir) { return read_checkpoint(dir, torch::kCPU).run.epoch; }

void write_checkpoint(const std::string& dir, const Checkpoint& checkpoint, const std::string& best_evir) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/" + kStateFile, checkpoint_to_json(checkpoint).dump());
  write_file_atomic(dir + "/" + kBestFile, best_evir);
}

CheckpointLock::CheckpointLock(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    throw Error(fmt::format("{}: cannot use as a checkpoint directory: {}", dir, std::strerror(ENOTDIR)));
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create the checkpoint directory: {}", dir, ec.message()));
  if (access(dir.c_str(), W_OK | X_OK) != 0)
    throw Error(fmt::format("{}: cannot write: {}", dir, std::strerror(errno)));
  const std::string path = (fs::path(dir) / "lock").string();
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    char pid[32] = {};
    const ssize_t n = pread(fd_, pid, sizeof pid - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (error != EWOULDBLOCK) throw Error(fmt::format("{}: cannot lock: {}", path, std::strerror(error)));
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    throw Error(fmt::format("{}: in use by another training run (pid {}); wait for it to end or use another "
                            "--checkpoint directory",
                            dir, holder.empty() ? "unknown" : holder));
  }
  const std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int error = errno;
    ::close(fd_);
    throw Error(fmt::format("{}: cannot write: {}", path, std::strerror(error)));
  }
}

CheckpointLock::~CheckpointLock() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

/// Throws unless `t` is a float tensor of exactly `shape`.
void require_shape(const torch::Tensor& t, std::vector<int64_t> shape, const std::string& what) {
  if (!t.defined() || t.scalar_type() != torch::kFloat || t.sizes().vec() != shape)
    throw Error(fmt::format("{} has shape [{}], expected [{}]", what,
                            t.defined() ? fmt::format("{}", fmt::join(t.sizes(), ", ")) : "none",
                            fmt::join(shape, ", ")));
}

void require_param(const Param& p, std::vector<int64_t> shape, const std::string& what) {
  require_shape(p.value, shape, what);
  require_shape(p.m, shape, what + " (first moment)");
  require_shape(p.v, shape, what + " (second moment)");
}

void check_operand(const Operand& o, int k, const Layer& layer, const std::string& at) {
  switch (o.kind) {
    case Operand::Kind::Input:
      if (o.index < 0 || o.index >= layer.n_in)
        throw Error(fmt::format("{} reads input {}, the layer has {}", at, o.index, layer.n_in));
      return;
    case Operand::Kind::Op:
      if (o.index == k) throw Error(fmt::format("{} reads itself", at));
      if (o.index < 0 || o.index > k)
        throw Error(fmt::format("{} reads op {}, which is not an earlier op", at, o.index));
      return;
    case Operand::Kind::Scalar:
      if (o.index < 0 || o.index > 1) throw Error(fmt::format("{} reads scalar slot {} (0 or 1)", at, o.index));
      return;
  }
  throw Error(fmt::format("{}: operand kind {} is not input (0), op (1) or scalar (2)", at, static_cast<int>(o.kind)));
}

}  // namespace

void check_network(const Network& net) {
  if (net.layers.empty()) throw Error("the network has no layers");
  if (!net.in_scale.defined() || net.in_scale.dim() != 1 || net.in_scale.numel() < 1)
    throw Error("in_scale is not a vector over the inputs");
  const int64_t features = net.in_scale.size(0);
  require_shape(net.in_scale, {features}, "in_scale");
  require_shape(net.in_shift, {features}, "in_shift");
  int64_t n_in = features;
  for (std::size_t l = 0; l < net.layers.size(); ++l) {
    const Layer& layer = net.layers[l];
    const std::string at = fmt::format("layer {}", l);
    if (layer.n_in != n_in)
      throw Error(fmt::format("{} reads {} columns (n_in), but {} come in", at, layer.n_in, n_in));
    if (layer.n_out < 1) throw Error(fmt::format("{} has no outputs", at));
    const auto ops = static_cast<int64_t>(layer.ops.size());
    for (int64_t k = 0; k < ops; ++k) {
      const OpNode& op = layer.ops[k];
      const std::string op_at = fmt::format("{} op {}", at, k);
      if (!ir::is_unary(op.kind) && !ir::is_binary(op.kind))
        throw Error(fmt::format("{}: '{}' is not an evolved op kind", op_at, ir::op_name(op.kind)));
      check_operand(op.a, static_cast<int>(k), layer, op_at);
      if (ir::is_binary(op.kind)) check_operand(op.b, static_cast<int>(k), layer, op_at);
    }
    require_param(layer.scalars, {ops, 2}, at + " scalars");
    require_param(layer.weight, {layer.n_out, layer.n_in + ops}, at + " weight");
    require_param(layer.bias, {layer.n_out}, at + " bias");
    require_shape(layer.running_mean, {ops}, at + " running_mean");
    require_shape(layer.running_var, {ops}, at + " running_var");
    n_in = layer.n_out;
  }
  if (net.out_scale.defined() || net.out_shift.defined()) {
    require_shape(net.out_scale, {n_in}, "out_scale");
    require_shape(net.out_shift, {n_in}, "out_shift");
  }
}

}  // namespace evoc::trainer
