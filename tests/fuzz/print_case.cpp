// Prints the differential case that fuzzer input files decode to (module_from_bytes.h): the
// module as IR, the batch layout and the rows. For reading crashes of the differential targets:
//   print_case build-fuzz/crashes/differential_jit/crash-...
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "ir/printer.h"
#include "module_from_bytes.h"

int main(int argc, char** argv) {
  for (int a = 1; a < argc; ++a) {
    std::ifstream in(argv[a], std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto c = evoc::fuzz::decode_case(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    std::printf("; %s: %lld rows, x_stride %lld, y_stride %lld, flags 0x%02x\n%s", argv[a],
                static_cast<long long>(c.n_rows), static_cast<long long>(c.x_stride),
                static_cast<long long>(c.y_stride), c.flags, evoc::ir::print_module(c.module).c_str());
    for (int64_t r = 0; r < c.n_rows; ++r) {
      std::printf("; row %lld:", static_cast<long long>(r));
      for (std::size_t i = 0; i < c.module.n_in(); ++i)
        std::printf(" %s", evoc::ir::format_float(c.rows[r * c.x_stride + i]).c_str());
      std::printf("\n");
    }
  }
}
