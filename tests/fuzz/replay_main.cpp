// A stand-in for libFuzzer's driver, for targets and compilers libFuzzer cannot build (the
// checkpoint target needs LibTorch, whose headers only gcc compiles here).
//
//   fuzz_TARGET PATH...                         run the target once on every file (directories
//                                               are walked): the corpora replay as plain tests
//   fuzz_TARGET --mutate SECONDS [--seed N] [--crashes DIR] PATH...
//                                               mutation fuzzing for SECONDS: each round takes a
//                                               starting input, applies 1-8 random mutations
//                                               (byte edits, range copies and deletions, splices,
//                                               numbers replaced by edge values) and runs it
//
// Replay exits non-zero if a path is missing. A failing input aborts inside the target, naming
// the property it broke; while mutating, each input is first written to DIR/current (default
// ./crashes), so the input that aborted is on disk afterwards. There is no coverage feedback:
// the mutations are chosen for text formats whose meaning sits in numbers and brackets.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void run_one(const std::string& bytes) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

/// Every regular file under `paths`; false (with a message) if one is missing.
bool collect(const std::vector<std::string>& paths, std::vector<fs::path>& files) {
  for (const std::string& p : paths) {
    const fs::path path(p);
    if (fs::is_directory(path)) {
      for (const auto& e : fs::recursive_directory_iterator(path))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(path)) {
      files.push_back(path);
    } else {
      std::fprintf(stderr, "replay: %s: no such file or directory\n", p.c_str());
      return false;
    }
  }
  return true;
}

/// Values that probe a reader's range checks where a number stood.
const char* const kEdgeNumbers[] = {"0",          "-1",         "1",      "2",         "-100",    "255",
                                    "65536",      "2147483647", "-2147483648", "4294967296", "1e309",
                                    "-1e309",     "1e-320",     "0.5",    "nan",       "\"x\"",   "null",
                                    "[]",         "{}",         "true",   "99999",     "7",       "3.4e38",
                                    "18446744073709551615",      "-0"};

class Mutator {
 public:
  Mutator(std::vector<std::string> pool, uint64_t seed) : pool_(std::move(pool)), rng_(seed) {}

  std::string next() {
    std::string s = pool_[pick(pool_.size())];
    const std::size_t rounds = 1 + pick(8);
    for (std::size_t i = 0; i < rounds; ++i) mutate(s);
    return s;
  }

 private:
  std::size_t pick(std::size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  /// The span [begin, end) of a number around a random position of `s`, if it lands on one.
  bool number_at(const std::string& s, std::size_t& begin, std::size_t& end) {
    if (s.empty()) return false;
    std::size_t at = pick(s.size());
    // Walk forward to the next digit, then out to the number's ends.
    while (at < s.size() && !std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
    if (at == s.size()) return false;
    auto part = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == 'e' || c == 'E' || c == '+'; };
    begin = end = at;
    while (begin > 0 && part(s[begin - 1])) --begin;
    while (end < s.size() && part(s[end])) ++end;
    return true;
  }

  void mutate(std::string& s) {
    std::size_t begin = 0, end = 0;
    switch (pick(9)) {
      case 0:  // a number replaced by an edge value
      case 1:
        if (number_at(s, begin, end)) s.replace(begin, end - begin, kEdgeNumbers[pick(std::size(kEdgeNumbers))]);
        break;
      case 2:  // a number nudged by one
        if (number_at(s, begin, end)) {
          const long long v = std::strtoll(s.substr(begin, end - begin).c_str(), nullptr, 10);
          s.replace(begin, end - begin, std::to_string(v + (pick(2) ? 1 : -1)));
        }
        break;
      case 3:  // one byte replaced
        if (!s.empty()) s[pick(s.size())] = static_cast<char>(pick(256));
        break;
      case 4:  // one structural byte inserted
        s.insert(s.begin() + static_cast<std::ptrdiff_t>(pick(s.size() + 1)), "[]{},:\"0-"[pick(9)]);
        break;
      case 5: {  // a range deleted
        if (s.empty()) break;
        const std::size_t at = pick(s.size());
        s.erase(at, 1 + pick(std::min<std::size_t>(64, s.size() - at)));
        break;
      }
      case 6: {  // a range copied elsewhere
        if (s.empty()) break;
        const std::size_t at = pick(s.size());
        const std::string piece = s.substr(at, 1 + pick(64));
        s.insert(pick(s.size() + 1), piece);
        break;
      }
      case 7: {  // spliced with another input
        const std::string& other = pool_[pick(pool_.size())];
        const std::size_t cut = pick(s.size() + 1);
        s = s.substr(0, cut) + other.substr(std::min(cut, other.size()));
        break;
      }
      default:  // cut short
        s.resize(pick(s.size() + 1));
        break;
    }
  }

  std::vector<std::string> pool_;
  std::mt19937_64 rng_;
};

int mutate_for(double seconds, uint64_t seed, const fs::path& crashes, const std::vector<fs::path>& files) {
  std::vector<std::string> pool;
  for (const fs::path& f : files) pool.push_back(read_bytes(f));
  if (pool.empty()) {
    std::fprintf(stderr, "mutate: no starting inputs\n");
    return 2;
  }
  for (const std::string& s : pool) run_one(s);  // the starting inputs must pass first
  fs::create_directories(crashes);
  const fs::path current = crashes / "current";
  Mutator mutator(pool, seed);
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::size_t runs = 0;
  for (; elapsed() < seconds; ++runs) {
    const std::string input = mutator.next();
    {
      std::ofstream out(current, std::ios::binary | std::ios::trunc);
      out << input;
    }
    run_one(input);
    if ((runs & (runs - 1)) == 0 && runs >= 1024)
      std::fprintf(stderr, "mutate: %zu runs, %.0f s\n", runs, elapsed());
  }
  fs::remove(current);
  std::fprintf(stderr, "mutate: %zu runs in %.0f s from %zu starting inputs (seed %llu), no property violated\n", runs,
               elapsed(), pool.size(), static_cast<unsigned long long>(seed));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = -1;
  uint64_t seed = 1;
  fs::path crashes = "crashes";
  std::vector<std::string> paths;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    const bool has_value = a + 1 < argc;
    if (arg == "--mutate" && has_value) {
      seconds = std::atof(argv[++a]);
    } else if (arg == "--seed" && has_value) {
      seed = std::strtoull(argv[++a], nullptr, 10);
    } else if (arg == "--crashes" && has_value) {
      crashes = argv[++a];
    } else if (arg.starts_with("--")) {
      std::fprintf(stderr, "usage: %s [--mutate SECONDS [--seed N] [--crashes DIR]] PATH...\n", argv[0]);
      return 2;
    } else {
      paths.push_back(arg);
    }
  }
  std::vector<fs::path> files;
  if (!collect(paths, files)) return 2;
  if (seconds >= 0) return mutate_for(seconds, seed, crashes, files);
  for (const fs::path& f : files) {
    std::fprintf(stderr, "replay %s\n", f.c_str());
    run_one(read_bytes(f));
  }
  std::fprintf(stderr, "replayed %zu inputs\n", files.size());
  return 0;
}
