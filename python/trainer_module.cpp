// evoc._trainer: the training half of the Python module. It links LibTorch (through the
// trainer), so evoc imports it only when evoc.train or an estimator's fit is first called.
//
//   _trainer.train_csv(path, target, options) -> (model text, summary)
//   _trainer.train_arrays(x, y, feature_names, target_name, name, options) -> (model text, summary)
//
// `options` is a dict of trainer options by their Python names (epochs, lr, batch, max_ops, ...);
// unknown names are errors. The summary is a dict of trainer::Summary's fields.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ir/error.h"
#include "ir/printer.h"
#include "trainer/trainer.h"

namespace py = pybind11;
namespace tr = evoc::trainer;

namespace {

using Setter = std::function<void(tr::Options&, const py::handle&)>;

template <typename T, typename Field>
Setter field(Field tr::Options::*member) {
  return [member](tr::Options& o, const py::handle& v) { o.*member = static_cast<Field>(v.cast<T>()); };
}

/// Every option a Python caller may set, by name.
const std::map<std::string, Setter>& option_setters() {
  static const std::map<std::string, Setter> setters{
      {"task", [](tr::Options& o, const py::handle& v) { o.task = tr::parse_task(v.cast<std::string>()); }},
      {"epochs", field<int>(&tr::Options::epochs)},
      {"lr", field<float>(&tr::Options::lr)},
      {"batch", field<int>(&tr::Options::batch)},
      {"weight_decay", field<float>(&tr::Options::weight_decay)},
      {"optimizer",
       [](tr::Options& o, const py::handle& v) { o.optimizer = tr::parse_optimizer(v.cast<std::string>()); }},
      {"max_ops", field<int>(&tr::Options::max_ops)},
      {"grow", field<int>(&tr::Options::grow)},
      {"pool", field<int>(&tr::Options::pool)},
      {"prune_below", field<float>(&tr::Options::prune_below)},
      {"min_gain", field<float>(&tr::Options::min_gain)},
      {"significance", field<float>(&tr::Options::significance)},
      {"fallback_significance", field<float>(&tr::Options::fallback_significance)},
      {"patience", field<int>(&tr::Options::patience)},
      {"layers", field<int>(&tr::Options::layers)},
      {"width", field<int>(&tr::Options::width)},
      {"activation",
       [](tr::Options& o, const py::handle& v) { o.activation = tr::parse_activation(v.cast<std::string>()); }},
      {"norm", [](tr::Options& o, const py::handle& v) { o.norm = tr::parse_norm(v.cast<std::string>()); }},
      {"ops", [](tr::Options& o, const py::handle& v) { o.ops = tr::parse_op_kinds(v.cast<std::string>()); }},
      {"seed", field<uint64_t>(&tr::Options::seed)},
      {"device", field<std::string>(&tr::Options::device)},
      {"threads", field<int>(&tr::Options::threads)},
      {"validation_fraction", field<double>(&tr::Options::validation_fraction)},
      {"test_fraction", field<double>(&tr::Options::test_fraction)},
  };
  return setters;
}

tr::Options options_from(const py::dict& given) {
  tr::Options o;
  for (const auto& [k, v] : given) {
    const std::string key = k.cast<std::string>();
    const auto it = option_setters().find(key);
    if (it == option_setters().end()) throw py::type_error("train: unknown option '" + key + "'");
    if (!v.is_none()) it->second(o, v);
  }
  return o;
}

py::tuple run(const tr::Dataset& data, const py::dict& given) {
  const tr::Options options = options_from(given);
  tr::Result result;
  {
    py::gil_scoped_release unlocked;
    result = tr::train(data, options);
  }
  const tr::Summary& s = result.summary;
  py::dict summary;
  summary["task"] = tr::task_name(s.task);
  summary["metric"] = s.metric;
  summary["test_metric"] = s.test_metric;
  summary["val_metric"] = s.val_metric;
  summary["val_loss"] = s.val_loss;
  summary["best_epoch"] = s.best_epoch;
  summary["ops"] = s.ops;
  summary["parameters"] = s.parameters;
  summary["epochs"] = s.epochs;
  summary["accepted"] = s.accepted;
  summary["reverted"] = s.reverted;
  summary["seconds"] = s.seconds;
  return py::make_tuple(evoc::ir::print_module(result.module), summary);
}

py::tuple train_csv(const std::string& path, const std::string& target, const py::dict& options) {
  return run(tr::load_csv(path, target), options);
}

py::tuple train_arrays(py::array_t<float, py::array::c_style | py::array::forcecast> x,
                       py::array_t<float, py::array::c_style | py::array::forcecast> y,
                       std::vector<std::string> feature_names, std::string target_name, std::string name,
                       const py::dict& options) {
  if (x.ndim() != 2) throw py::value_error("train: X must be a 2-D array (rows x features)");
  if (y.ndim() != 1 || y.shape(0) != x.shape(0))
    throw py::value_error("train: y must be a 1-D array with one value per row of X");
  tr::Dataset data;
  data.name = std::move(name);
  data.feature_names = std::move(feature_names);
  if (data.feature_names.empty())
    for (py::ssize_t c = 0; c < x.shape(1); ++c) data.feature_names.push_back("x" + std::to_string(c));
  if (static_cast<py::ssize_t>(data.feature_names.size()) != x.shape(1))
    throw py::value_error("train: feature_names must name every column of X");
  data.target_name = std::move(target_name);
  data.features.assign(x.data(), x.data() + x.size());
  data.target.assign(y.data(), y.data() + y.size());
  return run(data, options);
}

}  // namespace

PYBIND11_MODULE(_trainer, m) {
  m.doc() = "evoc trainer (LibTorch): evolve a network, get its text IR and a summary";
  // Errors are evoc.Error, the kernel module's class, so callers catch one type.
  static py::handle error = py::object(py::module_::import("evoc._evoc").attr("Error")).release();
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const evoc::Error& e) {
      PyErr_SetString(error.ptr(), e.what());
    }
  });
  m.def("train_csv", &train_csv, py::arg("path"), py::arg("target") = "", py::arg("options") = py::dict());
  m.def("train_arrays", &train_arrays, py::arg("x"), py::arg("y"), py::arg("feature_names") = std::vector<std::string>{},
        py::arg("target_name") = "y", py::arg("name") = "model", py::arg("options") = py::dict());
  m.def("option_names", [] {
    std::vector<std::string> names;
    for (const auto& [name, setter] : option_setters()) names.push_back(name);
    return names;
  });
}
