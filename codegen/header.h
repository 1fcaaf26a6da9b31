// The C header of an AOT-compiled kernel: the extern "C" declaration plus the model's constants
// (input and output counts, content hash, input and output names). Plain C99, usable from C++.
#pragma once

#include <string>
#include <string_view>

#include "ir/module.h"

namespace evoc::codegen {

/// The header for kernel `symbol` compiled from `m`. For symbol `iris` it declares
///   void iris(const float* x, int64_t n, int64_t x_stride, float* y, int64_t y_stride);
///   #define IRIS_N_IN 4 / IRIS_N_OUT 3 / IRIS_HASH UINT64_C(0x...)
///   static const char* const iris_input_names[IRIS_N_IN + 1];   (NULL-terminated)
///   static const char* const iris_output_names[IRIS_N_OUT + 1];
std::string kernel_header(const ir::Module& m, std::string_view symbol);

}  // namespace evoc::codegen
