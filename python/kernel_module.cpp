// evoc._evoc: the kernel half of the Python module (evoc.Kernel, evoc.compile). It links the
// shared libevoc and nothing of LibTorch, so that a service that only scores rows never loads it;
// the trainer lives in evoc._trainer, imported on first use.
//
// Kernel.run takes a float32 array of rows without copying it when each row is contiguous
// (C-contiguous arrays, row slices, column-sliced views with unit inner stride): the kernel reads
// rows `x.strides[0]` bytes apart. Other arrays (other dtypes, transposed, reversed) are copied
// to a C-contiguous float32 array first. The GIL is released while the kernel runs.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <filesystem>
#include <string>
#include <vector>

#include "codegen/aot.h"
#include "ir/error.h"
#include "ir/file_util.h"
#include "ir/parser.h"
#include "runtime/compile.h"
#include "runtime/kernel.h"
#include "runtime/postprocess.h"

namespace py = pybind11;

namespace {

using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

/// Reads `path_or_text` as a file when it names one, else as text IR (which has a newline).
evoc::ir::Module load_module(const std::string& path_or_text) {
  if (path_or_text.find('\n') != std::string::npos) return evoc::ir::parse_module(path_or_text, "<text>");
  return evoc::ir::read_module(path_or_text);
}

/// Applies Python keyword options to code generation options; unknown names are errors.
bool set_codegen_option(evoc::codegen::CodegenOptions& c, const std::string& key, const py::handle& value) {
  if (key == "opt_level") c.opt_level = value.cast<int>();
  else if (key == "fast_math") c.fast_math = value.cast<bool>();
  else if (key == "mcpu") c.cpu = value.cast<std::string>();
  else if (key == "target") c.triple = value.cast<std::string>();
  else if (key == "mattr") c.features = value.cast<std::string>();
  else if (key == "vector_width") c.vector_width = value.cast<int>();
  else if (key == "name") c.symbol = value.cast<std::string>();
  else return false;
  return true;
}

/// A kernel with the module facts Python asks for.
class PyKernel {
 public:
  PyKernel(const std::string& path_or_text, const py::kwargs& kwargs)
      : PyKernel(load_module(path_or_text), kernel_options(kwargs)) {}

  PyKernel(evoc::ir::Module m, const evoc::KernelOptions& options)
      : module_(std::move(m)),
        kernel_(evoc::Kernel::compile(module_, options)),
        output_(options.output),
        // The rule evoc::Kernel applies to its own post-processing: any task but "classify" is not.
        classifier_(module_.meta("task").empty() || module_.meta("task") == "classify") {}

  static evoc::KernelOptions kernel_options(const py::kwargs& kwargs) {
    evoc::KernelOptions options;
    for (const auto& [k, v] : kwargs) {
      const std::string key = k.cast<std::string>();
      if (set_codegen_option(options.codegen, key, v)) continue;
      if (key == "threads") options.threads = v.cast<unsigned>();
      else if (key == "output") options.output = evoc::output_from_name(v.cast<std::string>());
      else if (key == "cache_dir") options.cache_dir = v.cast<std::string>();
      else if (key == "use_cache") options.use_cache = v.cast<bool>();
      else if (key == "tiered") options.tiered = v.cast<bool>();
      else if (key == "rows_per_task") options.rows_per_task = v.cast<int64_t>();
      else throw py::type_error("Kernel: unknown option '" + key + "'");
    }
    return options;
  }

  /// Rows in, kernel outputs out (n x n_out float32).
  py::array_t<float> run(const py::array& x) const {
    auto [n, y] = run_raw(x);
    return y;
  }

  /// Class probabilities (n x classes); rows sum to 1.
  py::array_t<float> predict_proba(const py::array& x) const { return classify(x, evoc::Output::Probabilities); }

  /// The most likely class index per row (int64).
  py::array_t<int64_t> predict(const py::array& x) const {
    py::array_t<float> best = classify(x, evoc::Output::Argmax);
    py::array_t<int64_t> labels(best.shape(0));
    auto in = best.unchecked<2>();
    auto out = labels.mutable_unchecked<1>();
    for (py::ssize_t r = 0; r < best.shape(0); ++r) out(r) = static_cast<int64_t>(in(r, 0));
    return labels;
  }

  std::size_t n_in() const { return kernel_.n_in(); }
  std::size_t n_out() const { return kernel_.n_out(); }
  const std::vector<std::string>& input_names() const { return kernel_.input_names(); }
  const std::vector<std::string>& output_names() const { return kernel_.output_names(); }
  std::string meta(const std::string& key) const { return module_.meta(key); }
  std::string source() const { return evoc::source_name(kernel_.info().source); }

 private:
  /// The rows of `x` as the kernel reads them: the array itself when each row is contiguous
  /// float32, else a C-contiguous float32 copy. Returns the array and its row stride in floats.
  std::pair<py::array, int64_t> rows_of(const py::array& x) const {
    const bool is_f32 = x.dtype().is(py::dtype::of<float>());
    const auto width = static_cast<py::ssize_t>(kernel_.n_in());
    if (x.ndim() != 2 || x.shape(1) != width)
      throw py::value_error("Kernel.run: expected a 2-D array of rows with " + std::to_string(width) +
                            " columns, got shape " + py::str(x.attr("shape")).cast<std::string>());
    const bool rows_contiguous = is_f32 && reinterpret_cast<uintptr_t>(x.data()) % alignof(float) == 0 &&
                                 (x.shape(1) <= 1 || x.strides(1) == sizeof(float)) &&
                                 x.strides(0) % static_cast<py::ssize_t>(sizeof(float)) == 0 &&
                                 x.strides(0) >= static_cast<py::ssize_t>(width * sizeof(float));
    if (rows_contiguous) return {x, static_cast<int64_t>(x.strides(0) / sizeof(float))};
    FloatArray copy = FloatArray::ensure(x);
    if (!copy) throw py::error_already_set();
    return {copy, static_cast<int64_t>(width)};
  }

  std::pair<int64_t, py::array_t<float>> run_raw(const py::array& x) const {
    auto [rows, stride] = rows_of(x);
    const auto n = static_cast<int64_t>(rows.shape(0));
    py::array_t<float> y({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(kernel_.n_out())});
    const auto* in = static_cast<const float*>(rows.data());
    float* out = y.mutable_data();
    const auto out_stride = static_cast<int64_t>(kernel_.n_out());
    {
      py::gil_scoped_release unlocked;
      if (n > 0) kernel_.run(in, n, stride, out, out_stride);
    }
    return {n, y};
  }

  py::array_t<float> classify(const py::array& x, evoc::Output mode) const {
    if (output_ == mode) return run(x);
    if (output_ != evoc::Output::Raw || !classifier_)
      throw py::value_error("Kernel: predict and predict_proba need a classifier kernel with output 'raw' (model '" +
                            module_.name + "', task '" + module_.meta("task") + "')");
    auto [n, logits] = run_raw(x);
    const std::size_t k = kernel_.n_out(), width = evoc::output_width(mode, k);
    py::array_t<float> y({static_cast<py::ssize_t>(n), static_cast<py::ssize_t>(width)});
    evoc::postprocess(mode, k, logits.data(), static_cast<int64_t>(k), n, y.mutable_data(),
                      static_cast<int64_t>(width));
    return y;
  }

  evoc::ir::Module module_;
  evoc::Kernel kernel_;
  evoc::Output output_;
  bool classifier_;
};

/// evoc.compile: what `evoc compile` does, returning the artifact's bytes or writing `output`.
py::object compile_model(const std::string& path, const std::string& emit, const std::string& output,
                         int ir_opt, const py::kwargs& kwargs) {
  evoc::codegen::CodegenOptions options;
  for (const auto& [k, v] : kwargs)
    if (!set_codegen_option(options, k.cast<std::string>(), v))
      throw py::type_error("compile: unknown option '" + k.cast<std::string>() + "'");
  std::string data;
  {
    const auto kind = evoc::codegen::emit_kind_from_name(emit);
    if (!kind)
      throw evoc::Error("compile: unknown emit='" + emit + "' (expected " + evoc::codegen::emit_kind_names() + ")");
    evoc::ir::Module m = evoc::ir::read_module(path);
    py::gil_scoped_release unlocked;
    data = evoc::compile_model(std::move(m), *kind, options, ir_opt).data;
    if (!output.empty()) evoc::write_file_atomic(output, data);
  }
  if (!output.empty()) return py::none();
  return py::bytes(data);
}

}  // namespace

PYBIND11_MODULE(_evoc, m) {
  m.doc() = "evoc kernels: JIT-compile a model and score float32 rows (no LibTorch)";
  py::register_local_exception<evoc::Error>(m, "Error", PyExc_RuntimeError);
  m.attr("__version__") = EVOC_VERSION;

  py::class_<PyKernel>(m, "Kernel", "A compiled model: Kernel(path_or_text, **options)")
      .def(py::init<const std::string&, const py::kwargs&>(), py::arg("path_or_text"),
           "Compile a model from a .evir file or its text. Options: opt_level, fast_math, mcpu, target, "
           "mattr, vector_width, name, threads, output ('raw', 'probabilities', 'argmax'), cache_dir, "
           "use_cache, tiered, rows_per_task")
      .def("run", &PyKernel::run, py::arg("x"), "Rows (n x n_in) in, outputs (n x n_out, float32) out")
      .def("predict_proba", &PyKernel::predict_proba, py::arg("x"), "Class probabilities (classifiers)")
      .def("predict", &PyKernel::predict, py::arg("x"), "Most likely class index (classifiers)")
      .def_property_readonly("n_in", &PyKernel::n_in)
      .def_property_readonly("n_out", &PyKernel::n_out)
      .def_property_readonly("input_names", &PyKernel::input_names)
      .def_property_readonly("output_names", &PyKernel::output_names)
      .def_property_readonly("source", &PyKernel::source, "'jit', 'cache miss', 'cache hit' or 'library'")
      .def("meta", &PyKernel::meta, py::arg("key"), "A metadata entry of the model ('' if absent)");

  m.def("compile", &compile_model, py::arg("path"), py::arg("emit") = "obj", py::arg("output") = "",
        py::arg("ir_opt") = 2,
        "Compile a model ahead of time as `evoc compile` does: emit one of llvm, asm, obj, header, so, c. "
        "Writes `output` (atomically) when given, else returns the bytes.");
}
