// A stand-in for libFuzzer's driver: runs a fuzz target once on every file named on the command
// line (directories are walked), so that the corpora and the regression inputs replay as plain
// tests with any compiler, under the sanitizer presets too. Exits non-zero if a path is missing;
// a failing input aborts inside the target, naming the property it broke.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

void replay(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fprintf(stderr, "replay %s\n", file.c_str());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  for (int a = 1; a < argc; ++a) {
    const std::filesystem::path path(argv[a]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(path))
        if (e.is_regular_file()) replay(e.path()), ++files;
    } else if (std::filesystem::is_regular_file(path)) {
      replay(path), ++files;
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", argv[a]);
      return 2;
    }
  }
  std::fprintf(stderr, "replayed %d inputs\n", files);
  return 0;
}
