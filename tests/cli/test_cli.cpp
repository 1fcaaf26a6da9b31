// The evoc command line: golden files through `evoc fmt`, errors, exit codes, atomic outputs.
#include <doctest/doctest.h>

#include <filesystem>

#include "../ir/test_util.h"
#include "cli_runner.h"
#include "ir/csv.h"
#include "ir/interpreter.h"
#include "ir/parser.h"

using namespace evoc;
using evoc::test::run_evoc;
using evoc::TempDir;

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
  for (const char* sub : {"fmt", "verify", "inspect", "run", "eval", "dot", "opt"}) {
    CAPTURE(sub);
    auto r = run_evoc(std::string(sub) + " --help");
    CHECK(r.status == 0);
    CHECK(r.out.find("Usage") != std::string::npos);
  }
  CHECK(run_evoc("--help").status == 0);
}

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
