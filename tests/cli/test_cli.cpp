// The evoc command line: golden files through `evoc fmt`, errors, exit codes, atomic outputs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "../ir/test_util.h"
#include "cli_runner.h"
#include "ir/csv.h"
#include "ir/interpreter.h"
#include "ir/parser.h"

using namespace evoc;
using evoc::test::run_evoc;
using evoc::TempDir;
namespace fs = std::filesystem;

namespace {
const std::string kGolden = std::string(EVOC_TESTS_DIR) + "/ir/golden/";
}

TEST_CASE("evoc fmt round-trips every golden file byte for byte") {
  for (const auto& path : test::golden_files()) {
    CAPTURE(path.string());
    auto r = run_evoc("fmt '" + path.string() + "'");
    CHECK(r.status == 0);
    CHECK(r.out == read_file(path.string()));
  }
}

TEST_CASE("every subcommand has --help") {
  for (const char* sub : {"fmt", "verify", "inspect", "run", "eval", "dot", "opt", "compile", "bench", "link"}) {
    CAPTURE(sub);
    auto r = run_evoc(std::string(sub) + " --help");
    CHECK(r.status == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
  CHECK(run_evoc("--help").status == 0);
}

#ifdef EVOC_TRAINER_BUILT
TEST_CASE("evoc loads no LibTorch; train and bench --checkpoint run evoc-train, and say so when it is missing") {
  // The evoc executable: no LibTorch among its libraries.
  TempDir tmp;
  const std::string libs = tmp.file("ldd");
  REQUIRE(std::system(("ldd " + std::string(EVOC_EXE) + " > " + libs).c_str()) == 0);
  const std::string listed = read_file(libs);
  CHECK(listed.find("libLLVM") != std::string::npos);  // the list is real
  CHECK(listed.find("libtorch") == std::string::npos);
  CHECK(listed.find("libc10") == std::string::npos);
  // ... which lists train, and hands `train` to evoc-train: its options, and a model.
  CHECK(run_evoc("--help").out.find("train ") != std::string::npos);
  auto help = run_evoc("train --help");
  CHECK(help.status == 0);
  CHECK(help.out.find("--workers") != std::string::npos);
  const std::string model = tmp.file("xor.evir");
  auto trained = run_evoc("train --synthetic xor --epochs 2 -o '" + model + "'");
  CHECK(trained.status == 0);
  CHECK(run_evoc("verify '" + model + "'").status == 0);
  // A copy of evoc with no evoc-train beside it (nor in ../libexec/evoc): status 1, a message
  // naming both places, nothing written; the commands without LibTorch still run.
  fs::create_directories(tmp.file("bin"));
  const std::string lone = tmp.file("bin/evoc"), out = tmp.file("lone.evir");
  fs::copy_file(EVOC_EXE, lone);
  for (const std::string& args : {"train --synthetic xor -o '" + out + "'", "bench '" + model + "' --checkpoint '" +
                                                                                 tmp.path().string() + "'"}) {
    CAPTURE(args);
    const std::string err = tmp.file("lone.err");
    const int raw = std::system((lone + " " + args + " > /dev/null 2> " + err).c_str());
    CHECK(test::exit_status(raw) == 1);
    const std::string message = read_file(err);
    CHECK(message.find("needs evoc-train") != std::string::npos);
    CHECK(message.find(tmp.file("bin/evoc-train")) != std::string::npos);
    CHECK(message.find(tmp.file("libexec/evoc/evoc-train")) != std::string::npos);
  }
  CHECK(!fs::exists(out));
  CHECK(test::exit_status(std::system((lone + " verify '" + model + "' > /dev/null").c_str())) == 0);
}
#endif

TEST_CASE("verify reports parse errors with file:line:col and exits 1") {
  TempDir tmp;
  const std::string bad = tmp.file("bad.evir");
  write_file_atomic(bad, "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = mull %0, %0\n");
  auto r = run_evoc("verify " + bad);
  CHECK(r.status == 1);
  CHECK(r.err.find(bad + ":4:6: error: unknown op 'mull'") != std::string::npos);
  auto ok = run_evoc("verify " + kGolden + "07_wine_like.evir");
  CHECK(ok.status == 0);
  CHECK(ok.out.find("ok") != std::string::npos);
}

TEST_CASE("inspect and dot describe the module") {
  auto r = run_evoc("inspect " + kGolden + "07_wine_like.evir");
  CHECK(r.status == 0);
  CHECK(r.out.find("inputs      4") != std::string::npos);
  CHECK(r.out.find("dot       3") != std::string::npos);
  auto d = run_evoc("dot " + kGolden + "07_wine_like.evir");
  CHECK(d.status == 0);
  CHECK(d.out.rfind("digraph \"wine\"", 0) == 0);
  CHECK(d.out.find("label=\"alcohol\"") == std::string::npos);  // inputs carry id and name
  CHECK(d.out.find("alcohol") != std::string::npos);
  CHECK(d.out.find("class_2") != std::string::npos);
}

TEST_CASE("run: interpreter over a CSV, output written atomically") {
  TempDir tmp;
  const std::string rows = tmp.file("rows.csv"), out = tmp.file("out.csv");
  write_file_atomic(rows, "a,b\n3,-2\n1,0\n");
  auto r = run_evoc("run " + kGolden + "02_binary.evir --engine interp -i " + rows + " -o " + out);
  CHECK(r.status == 0);
  CHECK(read_file(out) == "sum,difference,product,quotient,minimum,maximum\n1,5,-6,-1.5,-2,3\n1,1,0,inf,0,1\n");
}

TEST_CASE("run: bad inputs are clear errors with a non-zero exit and no output") {
  TempDir tmp;
  const std::string out = tmp.file("out.csv");
  const std::string model = kGolden + "02_binary.evir";
  auto write = [&](const char* name, const char* text) {
    write_file_atomic(tmp.file(name), text);
    return tmp.file(name);
  };
  struct Case {
    std::string args, expected;
  } cases[] = {
      {"run " + model + " -i " + write("ragged.csv", "a,b\n1,2\n3\n") + " -o " + out,
       "ragged.csv:3: error: row has 1 field, expected 2"},
      {"run " + model + " -i " + write("text.csv", "a,b\n1,x\n") + " -o " + out,
       "text.csv:2:3: error: column 'b': cannot read 'x' as a number"},
      {"run " + model + " -i " + write("narrow.csv", "a\n1\n") + " -o " + out,
       "has 1 columns but model 'binary' takes 2 inputs"},
      {"run " + model + " -i " + write("empty.csv", "") + " -o " + out, "empty file: expected a header line"},
      {"run " + model + " -i " + write("nan.csv", "a,b\nnan,1\n") + " -o " + out, "nan is not a finite number"},
      {"run " + model + " -i " + tmp.file("missing.csv") + " -o " + out, "cannot read: No such file or directory"},
      {"run /nonexistent.evir -i x.csv", "/nonexistent.evir: cannot read"},
      {"run " + model + " -i " + write("ok.csv", "a,b\n1,2\n") + " -o /nonexistent-dir/out.csv",
       "/nonexistent-dir/out.csv: cannot write"},
      {"run " + model + " -i " + write("names.csv", "p,q\n1,2\n") + " --by-name -o " + out, "no columns named 'a', 'b'"},
      {"run " + model + " --engine nope -i x.csv", "--engine"},
      {"run " + model + " -i x.csv --bogus-flag", "--bogus-flag"},
      {"frobnicate", "unknown command 'frobnicate'"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    auto r = run_evoc(c.args);
    CHECK(r.status != 0);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(!std::filesystem::exists(out));
  }
  // no temp files left behind next to the outputs
  for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("run: --by-name picks columns, --allow-nan lets NaN through") {
  TempDir tmp;
  write_file_atomic(tmp.file("r.csv"), "b,extra,a\n2,9,nan\n");
  auto r = run_evoc("run " + kGolden + "02_binary.evir --engine interp --by-name --allow-nan -i " + tmp.file("r.csv"));
  CHECK(r.status == 0);
  CHECK(r.out == "sum,difference,product,quotient,minimum,maximum\nnan,nan,nan,nan,nan,nan\n");
}

TEST_CASE("eval: R^2 for regression, accuracy for classification") {
  TempDir tmp;
  write_file_atomic(tmp.file("reg.evir"),
                    "evir 1\nmodule \"r\" inputs 1 outputs 1\nmeta \"task\" \"regress\"\ninput %0 \"a\"\n"
                    "%1 = affine %0, 2, 1\noutput %1 \"y\"\n");
  write_file_atomic(tmp.file("reg.csv"), "a,t\n1,3\n2,5\n3,7.5\n");
  auto r = run_evoc("eval " + tmp.file("reg.evir") + " --engine interp -i " + tmp.file("reg.csv"));
  CHECK(r.status == 0);
  // residuals 0, 0, 0.5 against a mean of 5.1667: 1 - 0.25/10.1667
  CHECK(r.out.find("r2        0.9754") != std::string::npos);
  write_file_atomic(tmp.file("cls.evir"),
                    "evir 1\nmodule \"c\" inputs 1 outputs 2\nmeta \"task\" \"classify\"\ninput %0 \"a\"\n"
                    "%1 = neg %0\noutput %1 \"0\"\noutput %0 \"1\"\n");
  write_file_atomic(tmp.file("cls.csv"), "a,label\n1,1\n-2,0\n3,0\n");
  auto c = run_evoc("eval " + tmp.file("cls.evir") + " --engine interp -i " + tmp.file("cls.csv"));
  CHECK(c.status == 0);
  CHECK(c.out.find("accuracy  0.6667  (2 of 3 rows)") != std::string::npos);
  auto bad = run_evoc("eval " + tmp.file("cls.evir") + " --engine interp --target nope -i " + tmp.file("cls.csv"));
  CHECK(bad.status == 1);
  CHECK(bad.err.find("no column named 'nope'") != std::string::npos);
}

TEST_CASE("link: an ensemble module for every engine and emitter; inspect shows the members; --validate warns") {
  TempDir tmp;
  auto member = [&](const char* name, const char* first, const char* second) {
    write_file_atomic(tmp.file(name), std::string("evir 1\nmodule \"c\" inputs 1 outputs 2\nmeta \"task\" \"classify\"\n"
                                                  "meta \"classes\" \"neg,pos\"\ninput %0 \"a\"\n%1 = neg %0\n") +
                                          "output " + first + " \"neg\"\noutput " + second + " \"pos\"\n");
    return tmp.file(name);
  };
  const std::string right = member("right.evir", "%1", "%0"), wrong = member("wrong.evir", "%0", "%1");
  const std::string wrong2 = member("wrong2.evir", "%0", "%1");
  write_file_atomic(tmp.file("val.csv"), "a,label\n1,1\n-1,0\n2,1\n-3,0\n");
  // evoc eval reads the labels of a model that names its classes by those names.
  write_file_atomic(tmp.file("val_named.csv"), "a,label\n1,pos\n-1,neg\n2,pos\n-3,neg\n");
  const std::string ens = tmp.file("ens.evir");
  // One right member outvoted by two wrong ones: the ensemble is worse than its best member.
  auto r = run_evoc("link " + right + " " + wrong + " " + wrong2 + " -o " + ens + " --validate " + tmp.file("val.csv"));
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(r.err.find("right.evir") != std::string::npos);
  CHECK(r.err.find("warning: the ensemble (accuracy 0.0000) is worse than its best member " + right + " (1.0000)") !=
        std::string::npos);
  CHECK(r.err.find("shared: ") != std::string::npos);
  auto good = run_evoc("link " + right + " " + right + " --combine vote -o " + tmp.file("good.evir") + " --validate " +
                       tmp.file("val.csv"));
  CHECK(good.status == 0);
  CHECK(good.err.find("warning") == std::string::npos);

  auto inspect = run_evoc("inspect " + ens);
  CHECK(inspect.status == 0);
  CHECK(inspect.out.find("ensemble    3 members, mean;") != std::string::npos);
  CHECK(inspect.out.find("member 1  " + right + ": 1 ops") != std::string::npos);
  CHECK(inspect.out.find("meta outputs = probabilities") != std::string::npos);
  CHECK(inspect.out.find("each output: the probability of a class") != std::string::npos);
  CHECK(run_evoc("inspect " + tmp.file("good.evir")).out.find("each output: the share of the members' votes for a class") !=
        std::string::npos);
  // Every engine agrees; eval reads the probabilities as probabilities.
  auto interp = run_evoc("run " + ens + " --engine interp --by-name --output probabilities -i " + tmp.file("val.csv"));
  auto jit = run_evoc("run " + ens + " --engine jit --by-name --output probabilities -i " + tmp.file("val.csv"));
  CHECK(interp.status == 0);
  CHECK(interp.out == jit.out);
  CHECK(interp.out.rfind("neg,pos\n", 0) == 0);
  // The probabilities are the ensemble's outputs as they are, not transformed again.
  auto raw = run_evoc("run " + ens + " --engine jit --by-name --output raw -i " + tmp.file("val.csv"));
  REQUIRE(raw.status == 0);
  CHECK(raw.out.substr(raw.out.find('\n')) == jit.out.substr(jit.out.find('\n')));
  auto eval = run_evoc("eval " + ens + " --engine jit -i " + tmp.file("val_named.csv"));
  CHECK(eval.out.find("accuracy  0.0000") != std::string::npos);
  auto eval_good = run_evoc("eval " + tmp.file("good.evir") + " -i " + tmp.file("val_named.csv"));
  CHECK(eval_good.out.find("accuracy  1.0000") != std::string::npos);
  CHECK(run_evoc("opt " + ens + " -O3 -o " + tmp.file("opt.evir")).status == 0);
  for (const char* emit : {"header", "c", "obj"})
    CHECK(run_evoc("compile " + ens + " --emit=" + emit + " -o " + tmp.file(std::string("ens.") + emit)).status == 0);
}

TEST_CASE("train --ensemble: K members linked into one module; --members-dir keeps them") {
  if (run_evoc("train --help").status != 0) {
    MESSAGE("evoc train is not in this build: skipped");
    return;
  }
  TempDir tmp;
  const std::string dir = tmp.file("members"), ens = tmp.file("ens.evir");
  const std::string common = "train --synthetic xor --epochs 3 --pool 8 --test-fraction 0.2";
  // Two threads for three members: each member must be what training it alone gives.
  auto r = run_evoc(common + " --seed 5 --ensemble 3 --workers 2 --members-dir " + dir + " -o " + ens);
  REQUIRE(r.status == 0);
  CAPTURE(r.err);
  CHECK(r.out.empty());
  CHECK(r.err.find("member 3 (seed 7): val accuracy") != std::string::npos);
  // The members are compared with the ensemble on the test split, which no member trained on.
  CHECK(r.err.find("rows no member trained on") != std::string::npos);
  CHECK(r.err.find("(400 rows, accuracy)") != std::string::npos);
  {
    // The scores printed there; the warning is printed exactly when the ensemble's is below the
    // best member's.
    double best = -1, ensemble = -1;
    std::istringstream lines(r.err.substr(r.err.find("(400 rows, accuracy)")));
    std::string line;
    std::getline(lines, line);
    for (int i = 0; i < 4 && std::getline(lines, line); ++i) {
      const double score = std::stod(line.substr(line.find_last_of(' ') + 1));
      if (line.find("  ensemble ") == 0) ensemble = score;
      else best = std::max(best, score);
    }
    REQUIRE(ensemble >= 0);
    REQUIRE(best >= 0);
    const bool warned = r.err.find("evoc train: warning: the ensemble (accuracy ") != std::string::npos;
    CHECK(warned == (ensemble < best));
  }
  CHECK(run_evoc("verify " + ens).status == 0);
  auto inspect = run_evoc("inspect " + ens);
  CHECK(inspect.out.find("ensemble    3 members, mean;") != std::string::npos);
  // Every member standardises with the statistics of the same rows: the linked module computes
  // each input's standardisation once.
  CHECK(inspect.out.find("affine 10") != std::string::npos);

  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  CHECK(files == std::vector<std::string>{"member-1.evir", "member-2.evir", "member-3.evir"});
  const std::string m2 = dir + "/member-2.evir";
  auto serial = run_evoc(common + " -q --seed 5 --ensemble 3 --workers 1 --members-dir " + tmp.file("serial") + " -o " +
                         tmp.file("serial.evir"));
  REQUIRE(serial.status == 0);
  for (const std::string& f : files) CHECK(read_file(tmp.file("serial/" + f)) == read_file(dir + "/" + f));
  // The same ensemble, but for the members' paths in its metadata.
  std::string serial_ensemble = read_file(tmp.file("serial.evir"));
  for (std::size_t at; (at = serial_ensemble.find(tmp.file("serial/"))) != std::string::npos;)
    serial_ensemble.replace(at, tmp.file("serial/").size(), dir + "/");
  CHECK(serial_ensemble == read_file(ens));
  // No held-out rows: said, not an error.
  auto no_test = run_evoc("train --synthetic xor --epochs 1 --pool 8 --ensemble 2 -o " + tmp.file("no_test.evir"));
  CHECK(no_test.status == 0);
  CHECK(no_test.err.find("no rows to compare the ensemble with its members on (--test-fraction or --validation-csv") !=
        std::string::npos);

  // The ensemble is the linker's module of the kept members ...
  auto relink = run_evoc("link -q " + dir + "/member-1.evir " + m2 + " " + dir + "/member-3.evir -o " +
                         tmp.file("relinked.evir"));
  REQUIRE(relink.status == 0);
  CHECK(read_file(tmp.file("relinked.evir")) == read_file(ens));
  // ... and its outputs are the mean of the members' class probabilities (softmax of logits).
  const ir::Module e = ir::read_module(ens);
  std::vector<ir::Module> members;
  for (const std::string& f : files) members.push_back(ir::read_module(dir + "/" + f));
  REQUIRE(e.n_out() == 2);
  for (int row = 0; row < 50; ++row) {
    std::vector<float> x(e.n_in());
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(row * 7.0 + i * 3.0) * 2.0);
    const std::vector<float> got = ir::interpret_row(e, x);
    std::vector<double> mean(2, 0.0);
    for (const ir::Module& m : members) {
      REQUIRE(m.input_names == e.input_names);
      const std::vector<float> logits = ir::interpret_row(m, x);
      const double top = std::max(logits[0], logits[1]);
      const double a = std::exp(logits[0] - top), b = std::exp(logits[1] - top);
      mean[0] += a / (a + b) / 3.0;
      mean[1] += b / (a + b) / 3.0;
    }
    CHECK(got[0] == doctest::Approx(mean[0]).epsilon(1e-5));
    CHECK(got[1] == doctest::Approx(mean[1]).epsilon(1e-5));
  }
}
