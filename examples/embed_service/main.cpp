// embed_service: scores iris flowers with a kernel compiled ahead of time by evoc.
//
// It links one object file and includes one generated header (iris.h): no evoc, LLVM or
// LibTorch library is needed to build or run it. Reads CSV rows (a header line is optional) from
// the file named on the command line or from standard input, scores them in one batch call, and
// prints the predicted class name and the class logits of each row.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "iris.h"

namespace {

/// Parses one CSV line into `row`; false if a cell is not a number (e.g. a header line).
bool parse_row(const std::string& line, std::vector<float>& row) {
  row.clear();
  std::stringstream cells(line);
  std::string cell;
  while (std::getline(cells, cell, ',')) {
    char* end = nullptr;
    const float v = std::strtof(cell.c_str(), &end);
    if (end == cell.c_str()) return false;
    row.push_back(v);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::ifstream file;
  if (argc > 1) {
    file.open(argv[1]);
    if (!file) {
      std::fprintf(stderr, "embed_service: cannot open %s\n", argv[1]);
      return 1;
    }
  }
  std::istream& in = argc > 1 ? file : std::cin;
  std::vector<float> x, row;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty() || line == "\r") continue;
    if (!parse_row(line, row)) {
      if (line_no == 1) continue;  // header
      std::fprintf(stderr, "embed_service: line %d: not a number\n", line_no);
      return 1;
    }
    if (row.size() < IRIS_N_IN) {
      std::fprintf(stderr, "embed_service: line %d: %zu columns, the model takes %d\n", line_no, row.size(), IRIS_N_IN);
      return 1;
    }
    x.insert(x.end(), row.begin(), row.begin() + IRIS_N_IN);
  }
  const int64_t n = static_cast<int64_t>(x.size() / IRIS_N_IN);
  std::vector<float> y(static_cast<std::size_t>(n) * IRIS_N_OUT);
  iris(x.data(), n, IRIS_N_IN, y.data(), IRIS_N_OUT);

  // The kernel writes one logit per class (the largest wins; softmax over them gives the
  // probabilities); the class names come from the generated header.
  std::printf("prediction");
  for (int c = 0; c < IRIS_N_CLASSES; ++c) std::printf(",%s", iris_class_names[c]);
  std::printf("\n");
  for (int64_t r = 0; r < n; ++r) {
    const float* z = &y[static_cast<std::size_t>(r) * IRIS_N_OUT];
    int best = 0;
    for (int c = 1; c < IRIS_N_CLASSES; ++c)
      if (z[c] > z[best]) best = c;
    std::printf("%s", iris_class_names[best]);
    for (int c = 0; c < IRIS_N_CLASSES; ++c) std::printf(",%.9g", z[c]);
    std::printf("\n");
  }
  return 0;
}
