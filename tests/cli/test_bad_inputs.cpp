// Every bad input in docs/bad-inputs.md, tried: each row of the table there is a case here with
// the same id, run through the evoc executable (or the C API), and must get the documented exit
// status and message, with nothing written to the output path and no temporary file left behind.
// A last test checks that the table and these cases name the same ids.
//
// Paths in a case: $D is the case's scratch directory (holding the files of kFiles), $G the
// golden IR folder of the IR tests.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.h"
#include "ir/file_util.h"
#include "runtime/evoc.h"

using evoc::test::run_evoc;
using evoc::TempDir;

namespace {

const std::string kGolden = std::string(EVOC_TESTS_DIR) + "/ir/golden";
const std::string kDoc = std::string(EVOC_TESTS_DIR) + "/../docs/bad-inputs.md";
const std::string kModel = "$G/02_binary.evir";  // inputs a, b; six outputs

/// A scratch file of the cases: name and content.
struct File {
  const char* name;
  std::string text;
};

const std::vector<File> kFiles = {
    // IR
    {"empty.evir", ""},
    {"blank.evir", "\n   \n; only a comment\n"},
    {"truncated.evir", "evir 1\nmodule \"m\" inputs 2 outputs 1\ninput %0 \"a\"\ninput %1 \"b\"\n%2 = add %0,"},
    {"no_outputs.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = neg %0\n"},
    {"no_module.evir", "evir 1\n"},
    {"version2.evir", "evir 2\nmodule \"m\" inputs 1 outputs 1\n"},
    {"unknown_op.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = mull %0, %0\noutput %1 \"y\"\n"},
    {"undefined.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = neg %9\noutput %1 \"y\"\n"},
    {"twice.evir",
     "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = neg %0\n%1 = abs %0\noutput %1 \"y\"\n"},
    {"arity.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = add %0\noutput %1 \"y\"\n"},
    {"bad_number.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = const 1.2.3\noutput %1 \"y\"\n"},
    {"f32_overflow.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = const 1e39\noutput %1 \"y\"\n"},
    {"huge_count.evir", "evir 1\nmodule \"m\" inputs 99999999999 outputs 1\n"},
    {"huge_declared.evir", "evir 1\nmodule \"m\" inputs 16777216 outputs 16777216\n"},
    {"huge_id.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %4294967296 \"a\"\n"},
    {"unterminated.evir", "evir 1\nmodule \"m inputs 1 outputs 1\n"},
    {"bad_escape.evir", "evir 1\nmodule \"m\\q\" inputs 1 outputs 1\n"},
    {"nul.evir", std::string("evir\0 1\n", 8)},
    {"values_after_outputs.evir",
     "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\noutput %0 \"y\"\n%1 = neg %0\n"},
    {"input_count.evir", "evir 1\nmodule \"m\" inputs 2 outputs 1\ninput %0 \"a\"\noutput %0 \"y\"\n"},
    {"not_text.evir", std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", 16)},
    {"unreadable.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\noutput %0 \"y\"\n"},
    // CSV
    {"ok.csv", "a,b\n1,2\n3,4\n"},
    {"empty.csv", ""},
    {"blank.csv", "\n\n  \n"},
    {"header_only.csv", "a,b\n"},
    {"ragged_short.csv", "a,b\n1,2\n3\n"},
    {"ragged_long.csv", "a,b\n1,2,5\n"},
    {"text.csv", "a,b\n1,x\n"},
    {"empty_cell.csv", "a,b\n1,\n"},
    {"nan.csv", "a,b\nnan,1\n"},
    {"inf.csv", "a,b\n1,inf\n"},
    {"minus_inf.csv", "a,b\n-inf,1\n"},
    {"f32_overflow.csv", "a,b\n1e39,1\n"},
    {"hex.csv", "a,b\n0x10,1\n"},
    {"unterminated.csv", "a,b\n\"1,2\n"},
    {"quote_inside.csv", "a,b\n1\"2,3\n"},
    {"bare_cr.csv", "a,b\r1,2\n"},
    {"duplicate.csv", "a,a\n1,2\n"},
    {"empty_name.csv", "a,,c\n1,2,3\n"},
    {"narrow.csv", "a\n1\n"},
    {"other_names.csv", "p,q\n1,2\n"},
    {"unreadable.csv", "a,b\n1,2\n"},
    {"labelled.csv", "a,b,label\n1,2,0\n"},
    {"labelled_header_only.csv", "a,b,label\n"},
    {"target_meta.evir",
     "evir 1\nmodule \"m\" inputs 2 outputs 1\nmeta \"target\" \"price\"\ninput %0 \"a\"\ninput %1 \"b\"\n"
     "%2 = add %0, %1\noutput %2 \"y\"\n"},
    // raw tables: a model with a column schema, its rows, and tables to train on
    {"table.evir",
     "evir 1\nmodule \"t\" inputs 2 outputs 2\nmeta \"column.city\" \"categorical Rome,\\\"Paris, \\\"\\\"the\\\"\\\" "
     "city\\\"\"\nmeta \"column.v\" \"numeric\"\nmeta \"task\" \"classify\"\nmeta \"classes\" \"no,yes\"\ninput %0 "
     "\"city\"\ninput %1 \"v\"\n%2 = const 0\n%3 = eq %0, %2\n%4 = const 1.5\n%5 = fillnan %1, %4\noutput %3 "
     "\"y_no\"\noutput %5 \"y_yes\"\n"},
    {"table_rows.csv", "city,v\nRome,-1\n\"Paris, \"\"the\"\" city\",\nAtlantis,NA\n,3\n"},
    {"table_bad_rows.csv", "city,v\nRome,many\n"},
    {"table_missing_col.csv", "v\n1\n"},
    {"table_labelled.csv", "city,v,y\nRome,1,maybe\n"},
    {"regress.evir", "evir 1\nmodule \"r\" inputs 1 outputs 1\nmeta \"task\" \"regress\"\ninput %0 \"a\"\n%1 = neg %0\n"
                     "output %1 \"y\"\n"},
    {"all_missing.csv", "a,y\n,0\nNA,1\n?,0\n"},
    {"one_class.csv", "a,y\n1,yes\n2,yes\n"},
    {"text_feature.csv", "a,b\nx,1\n2,0\n"},
    {"quoted_levels.csv", "city,v,y\n\"Paris, \"\"the\"\" city\",1,yes\nRome,,no\n\"Paris, \"\"the\"\" city\",3,no\n"
                          "Rome,2,yes\nOslo,NA,yes\n,4,no\n"},
    {"many_levels.csv",
     [] {
       std::string text = "code,v,y\n";
       for (int r = 0; r < 10000; ++r) text += "k" + std::to_string(r) + "," + std::to_string(r % 3) + "," + std::to_string(r % 2) + "\n";
       return text + "k1,1,1\n";
     }()},
    // outputs
    {"keep.csv", "previous contents\n"},
    {"a_file", "not a directory\n"},
};

/// One bad input: an evoc command line and what it must get.
struct Case {
  const char* id;       ///< the row's id in docs/bad-inputs.md
  std::string args;     ///< shell text after `evoc`
  int status;           ///< expected exit status
  std::string message;  ///< expected in stderr (or in stdout when the status is 0)
};

const std::vector<Case> kCliCases = {
    // ---- malformed and truncated IR --------------------------------------------------------
    {"ir-empty", "verify $D/empty.evir", 1, "empty.evir:1:1: error: empty input: expected 'evir 1'"},
    {"ir-blank", "verify $D/blank.evir", 1, "blank.evir:3:1: error: empty input: expected 'evir 1'"},
    {"ir-truncated", "verify $D/truncated.evir", 1, "truncated.evir:5:13: error: expected an operand after ','"},
    {"ir-missing-outputs", "verify $D/no_outputs.evir", 1,
     "no_outputs.evir:2:29: error: module declares 1 outputs but 0 output lines follow"},
    {"ir-missing-module", "verify $D/no_module.evir", 1, "no_module.evir:1:1: error: missing 'module' line"},
    {"ir-version", "verify $D/version2.evir", 1,
     "version2.evir:1:6: error: unsupported evir version 2 (this evoc reads version 1)"},
    {"ir-unknown-op", "verify $D/unknown_op.evir", 1, "unknown_op.evir:4:6: error: unknown op 'mull'"},
    {"ir-undefined-value", "verify $D/undefined.evir", 1, "undefined.evir:4:10: error: use of undefined value %9"},
    {"ir-defined-twice", "verify $D/twice.evir", 1, "twice.evir:5:1: error: value %1 is defined twice"},
    {"ir-arity", "verify $D/arity.evir", 1, "arity.evir:4:12: error: 'add' takes 2 operands, found 1"},
    {"ir-bad-number", "verify $D/bad_number.evir", 1, "bad_number.evir:4:12: error: malformed number '1.2.3'"},
    {"ir-f32-overflow", "verify $D/f32_overflow.evir", 1,
     "f32_overflow.evir:4:12: error: number '1e39' is out of the range of f32"},
    {"ir-huge-count", "verify $D/huge_count.evir", 1,
     "huge_count.evir:2:19: error: input count 99999999999 is too large (at most 16777216)"},
    {"ir-huge-declared", "verify $D/huge_declared.evir", 1,
     "huge_declared.evir:2:19: error: module declares 16777216 inputs but 0 input lines follow"},
    {"ir-huge-id", "verify $D/huge_id.evir", 1, "huge_id.evir:3:7: error: value id %4294967296 is too large"},
    {"ir-unterminated-string", "verify $D/unterminated.evir", 1,
     "unterminated.evir:2:8: error: unterminated string"},
    {"ir-bad-escape", "verify $D/bad_escape.evir", 1, "bad_escape.evir:2:10: error: unknown escape \\q"},
    {"ir-nul-byte", "verify $D/nul.evir", 1, "nul.evir:1:5: error: unexpected character byte 0x00"},
    {"ir-values-after-outputs", "verify $D/values_after_outputs.evir", 1,
     "values_after_outputs.evir:5:1: error: values must come before the output lines"},
    {"ir-input-count", "verify $D/input_count.evir", 1,
     "input_count.evir:2:19: error: module declares 2 inputs but 1 input lines follow"},
    {"ir-binary-file", "verify $D/not_text.evir", 1,
     "not_text.evir:1:1: error: unexpected character byte 0x7f"},
    {"ir-missing-file", "verify $D/absent.evir", 1, "absent.evir: cannot read: No such file or directory"},
    {"ir-directory", "verify $D", 1, ": cannot read: is a directory"},
    {"ir-unreadable", "verify $D/unreadable.evir", 1, "unreadable.evir: cannot read: Permission denied"},
    {"ir-malformed-run", "run $D/truncated.evir -i $D/ok.csv -o $D/out.csv", 1,
     "truncated.evir:5:13: error: expected an operand after ','"},
    {"ir-malformed-opt", "opt $D/unknown_op.evir -O2 -o $D/out.evir", 1,
     "unknown_op.evir:4:6: error: unknown op 'mull'"},
    {"ir-malformed-compile", "compile $D/truncated.evir --emit=obj -o $D/out.o", 1,
     "truncated.evir:5:13: error: expected an operand after ','"},
    // ---- CSV rows ----------------------------------------------------------------------------
    {"csv-empty", "run " + kModel + " -i $D/empty.csv -o $D/out.csv", 1, "empty.csv:1: error: empty file: expected a header line"},
    {"csv-blank", "run " + kModel + " -i $D/blank.csv -o $D/out.csv", 1, "blank.csv:1: error: empty file: expected a header line"},
    {"csv-ragged-short", "run " + kModel + " -i $D/ragged_short.csv -o $D/out.csv", 1,
     "ragged_short.csv:3: error: row has 1 field, expected 2 (one per header column)"},
    {"csv-ragged-long", "run " + kModel + " -i $D/ragged_long.csv -o $D/out.csv", 1,
     "ragged_long.csv:2: error: row has 3 fields, expected 2 (one per header column)"},
    {"csv-non-numeric", "run " + kModel + " -i $D/text.csv -o $D/out.csv", 1,
     "text.csv:2:3: error: column 'b': cannot read 'x' as a number"},
    {"csv-empty-cell", "run " + kModel + " -i $D/empty_cell.csv -o $D/out.csv", 1,
     "empty_cell.csv:2:3: error: empty cell in column 'b'"},
    {"csv-nan", "run " + kModel + " -i $D/nan.csv -o $D/out.csv", 1,
     "nan.csv:2:1: error: column 'a': nan is not a finite number"},
    {"csv-inf", "run " + kModel + " -i $D/inf.csv -o $D/out.csv", 1,
     "inf.csv:2:3: error: column 'b': inf is not a finite number"},
    {"csv-minus-inf", "run " + kModel + " -i $D/minus_inf.csv -o $D/out.csv", 1,
     "minus_inf.csv:2:1: error: column 'a': -inf is not a finite number"},
    {"csv-nan-allowed", "run " + kModel + " --engine interp --allow-nan -i $D/nan.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\nnan,nan,nan,nan,nan,nan\n"},
    {"csv-f32-overflow", "run " + kModel + " -i $D/f32_overflow.csv -o $D/out.csv", 1,
     "f32_overflow.csv:2:1: error: column 'a': 1e39 is out of the range of f32"},
    {"csv-hex", "run " + kModel + " -i $D/hex.csv -o $D/out.csv", 1,
     "hex.csv:2:1: error: column 'a': cannot read '0x10' as a number"},
    {"csv-unterminated-quote", "run " + kModel + " -i $D/unterminated.csv -o $D/out.csv", 1,
     "unterminated.csv:2:1: error: unterminated quoted field"},
    {"csv-quote-inside", "run " + kModel + " -i $D/quote_inside.csv -o $D/out.csv", 1,
     "quote_inside.csv:2:2: error: quote inside an unquoted field"},
    {"csv-bare-cr", "run " + kModel + " -i $D/bare_cr.csv -o $D/out.csv", 1,
     "bare_cr.csv:1:4: error: bare carriage return (expected CRLF or LF line endings)"},
    {"csv-duplicate-column", "run " + kModel + " -i $D/duplicate.csv -o $D/out.csv", 1,
     "duplicate.csv:1:3: error: duplicate column name 'a'"},
    {"csv-empty-column-name", "run " + kModel + " -i $D/empty_name.csv -o $D/out.csv", 1,
     "empty_name.csv:1:3: error: empty column name in the header (column 2)"},
    {"csv-missing-file", "run " + kModel + " -i $D/absent.csv -o $D/out.csv", 1,
     "absent.csv: cannot read: No such file or directory"},
    {"csv-directory", "run " + kModel + " -i $D -o $D/out.csv", 1, ": cannot read: is a directory"},
    {"csv-unreadable", "run " + kModel + " -i $D/unreadable.csv -o $D/out.csv", 1,
     "unreadable.csv: cannot read: Permission denied"},
    // ---- the model and the rows disagree ------------------------------------------------------
    {"rows-n-in-mismatch", "run " + kModel + " -i $D/narrow.csv -o $D/out.csv", 1,
     "narrow.csv: has 1 columns but model 'binary' takes 2 inputs"},
    {"rows-n-in-mismatch-jit", "run " + kModel + " --engine jit -i $D/narrow.csv -o $D/out.csv", 1,
     "narrow.csv: has 1 columns but model 'binary' takes 2 inputs"},
    {"rows-by-name-missing", "run " + kModel + " --by-name -i $D/other_names.csv -o $D/out.csv", 1,
     "other_names.csv: no column named 'a' (columns: p, q)"},
    {"rows-n-zero-run", "run " + kModel + " --engine interp -i $D/header_only.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n"},
    {"rows-n-zero-run-jit", "run " + kModel + " --engine jit -i $D/header_only.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n"},
    {"rows-n-zero-eval", "eval " + kModel + " -i $D/labelled_header_only.csv", 1,
     "labelled_header_only.csv: no rows to score"},
    {"eval-missing-target", "eval " + kModel + " --target price -i $D/labelled.csv", 1,
     "labelled.csv: no column named 'price' (columns: a, b, label)"},
    {"eval-missing-meta-target", "eval $D/target_meta.evir -i $D/labelled.csv", 1,
     "labelled.csv: no column named 'price' (columns: a, b, label)"},
    {"opt-reference-rows-mismatch", "opt " + kModel + " --reference-rows $D/narrow.csv -o $D/out.evir", 1,
     "narrow.csv: has 1 columns but the model takes 2 inputs"},
    // ---- flags --------------------------------------------------------------------------------
    {"flag-unknown-command", "frobnicate", 2, "evoc: error: unknown command 'frobnicate'"},
    {"flag-no-command", "", 2, "A subcommand is required"},
    {"flag-unknown", "run " + kModel + " -i $D/ok.csv --bogus-flag", 2,
     "The following argument was not expected: --bogus-flag"},
    {"flag-missing-required", "run " + kModel, 2, "--input is required"},
    {"flag-missing-value", "run " + kModel + " -i", 2, "--input: 1 required TEXT missing"},
    {"flag-repeated", "run " + kModel + " -i $D/ok.csv --engine jit --engine interp", 2,
     "--engine: At Most 1 required but received 2"},
    {"flag-bad-choice", "run " + kModel + " -i $D/ok.csv --engine gpu", 2, "--engine: gpu not in {interp,jit}"},
    {"flag-conflict-level-passes", "opt " + kModel + " -O2 --passes=dce -o $D/out.evir", 2, "-O excludes --passes"},
    {"flag-level-range", "opt " + kModel + " -O9 -o $D/out.evir", 2, "-O: Value 9 not in range 0 to 3"},
    {"flag-unknown-pass", "opt " + kModel + " --passes=dce,nope -o $D/out.evir", 1,
     "pipeline 'dce,nope': column 5: unknown pass 'nope'"},
    {"flag-pipeline-syntax", "opt " + kModel + " '--passes=fixed-point(dce' -o $D/out.evir", 1,
     "pipeline 'fixed-point(dce': column 16: expected ')'"},
    {"flag-print-after-unknown", "opt " + kModel + " --print-after nope -o $D/out.evir", 1,
     "--print-after: unknown pass 'nope'"},
    {"flag-eval-repeat-range", "eval " + kModel + " -i $D/labelled.csv --repeat 0", 2,
     "--repeat: Value 0 not in range 1 to 100000"},
    // ---- outputs ----------------------------------------------------------------------------
    {"out-missing-dir", "run " + kModel + " -i $D/ok.csv -o $D/no/such/dir/out.csv", 1,
     "no/such/dir/out.csv: cannot write: No such file or directory"},
    {"out-under-a-file", "run " + kModel + " -i $D/ok.csv -o $D/a_file/out.csv", 1,
     "a_file/out.csv: cannot write: Not a directory"},
    {"out-is-directory", "run " + kModel + " -i $D/ok.csv -o $D", 1, ": cannot write: Is a directory"},
    {"out-read-only-dir", "run " + kModel + " -i $D/ok.csv -o $D/read_only/out.csv", 1,
     "read_only/out.csv: cannot write: Permission denied"},
    {"out-kept-on-error", "run " + kModel + " -i $D/text.csv -o $D/keep.csv", 1,
     "text.csv:2:3: error: column 'b': cannot read 'x' as a number"},
    {"out-opt-unwritable", "opt " + kModel + " -O2 -o $D/a_file/out.evir", 1,
     "a_file/out.evir: cannot write: Not a directory"},
    {"out-fmt-unwritable", "fmt " + kModel + " -o $D/a_file/out.evir", 1, "a_file/out.evir: cannot write: Not a directory"},
    {"out-dot-unwritable", "dot " + kModel + " -o $D/a_file/out.dot", 1, "a_file/out.dot: cannot write: Not a directory"},
    // ---- evoc compile -----------------------------------------------------------------------
    {"compile-unknown-emit", "compile " + kModel + " --emit=bogus -o $D/out.o", 2,
     "--emit: bogus not in {llvm,asm,obj,header,so,c}"},
    {"compile-binary-to-stdout", "compile " + kModel + " --emit=obj", 1,
     "compile: --emit=obj writes a binary file; give it with -o"},
    {"compile-bad-symbol", "compile " + kModel + " --emit=llvm --name 'bad name' -o $D/out.ll", 1,
     "kernel name 'bad name' is not a C identifier"},
    {"compile-keyword-symbol", "compile " + kModel + " --emit=header --name int -o $D/out.h", 1,
     "kernel name 'int' is a C or C++ keyword"},
    {"compile-reserved-symbol", "compile " + kModel + " --emit=obj --name __kernel -o $D/out.o", 1,
     "kernel name '__kernel' is reserved to the C implementation"},
    {"compile-unknown-triple", "compile " + kModel + " --emit=obj --target nonsense-triple -o $D/out.o", 1,
     "unknown target triple 'nonsense-triple'"},
    {"compile-unknown-cpu", "compile " + kModel + " --emit=obj --mcpu nonsense -o $D/out.o", 1,
     "unknown CPU 'nonsense'"},
    {"compile-opt-range", "compile " + kModel + " --emit=obj -O 7 -o $D/out.o", 2, "-O: Value 7 not in range 0 to 3"},
    {"compile-vector-width-range", "compile " + kModel + " --emit=obj --vector-width 1000 -o $D/out.o", 2,
     "--vector-width: Value 1000 not in range 1 to 64"},
    {"compile-unwritable", "compile " + kModel + " --emit=obj -o $D/a_file/out.o", 1,
     "a_file/out.o: cannot write: Not a directory"},
    // ---- raw tables: a model with a column schema ----
    {"run-table-raw-cells", "run $D/table.evir --engine interp --output raw -i $D/table_rows.csv", 0,
     "y_no,y_yes\n1,-1\n0,1.5\n0,1.5\n0,3\n"},
    {"run-table-label", "run $D/table.evir --engine jit --output label -i $D/table_rows.csv", 0, "label\nno\nyes\nyes\nyes\n"},
    {"run-table-bad-number", "run $D/table.evir -i $D/table_bad_rows.csv -o $D/out.csv", 1,
     "table_bad_rows.csv:2: column 'v' is numeric, but 'many' is not a number"},
    {"run-table-missing-column", "run $D/table.evir -i $D/table_missing_col.csv -o $D/out.csv", 1,
     "table_missing_col.csv: no column named 'city' (columns: v)"},
    {"run-output-not-classifier", "run $D/regress.evir -i $D/ok.csv --output probabilities -o $D/out.csv", 1,
     "--output probabilities: model 'r' is not a classifier (its output is a value; use --output raw)"},
    {"flag-run-output-choice", "run $D/table.evir -i $D/table_rows.csv --output logits", 2,
     "--output: logits not in"},
    {"eval-unknown-class", "eval $D/table.evir -i $D/table_labelled.csv", 1,
     "table_labelled.csv:2: target 'y' is 'maybe', which is not a class of the model (classes: no,yes)"},
};

/// `evoc train` cases (quiet: training prints its epochs otherwise): run only when this build
/// has the trainer.
const std::vector<Case> kTrainCases = {
    {"train-empty-csv", "train -q $D/empty.csv -o $D/out.evir", 1, "empty.csv:1: error: empty file: expected a header line"},
    {"train-ragged-csv", "train -q $D/ragged_short.csv -o $D/out.evir", 1,
     "ragged_short.csv:3: error: row has 1 field, expected 2 (one per header column)"},
    {"train-non-numeric", "train -q $D/text.csv -o $D/out.evir", 1,
     "text.csv: target 'b' has one class ('x'): nothing to classify"},
    {"train-nan", "train -q $D/nan.csv -o $D/out.evir", 1, "nan.csv: target 'b' has one class ('1'): nothing to classify"},
    {"train-n-zero", "train -q $D/header_only.csv -o $D/out.evir", 1, "header_only.csv: no data rows after the header"},
    {"train-missing-target", "train -q $D/labelled.csv --target price -o $D/out.evir", 1,
     "no column named 'price' (columns: a, b, label)"},
    {"train-no-data", "train -q -o $D/out.evir", 1, "train: give either a CSV file or --synthetic NAME"},
    {"train-data-and-synthetic", "train -q $D/ok.csv --synthetic xor -o $D/out.evir", 1,
     "train: give either a CSV file or --synthetic NAME"},
    {"train-unknown-synthetic", "train -q --synthetic nope -o $D/out.evir", 1,
     "unknown synthetic task 'nope' (choices: interaction, xor)"},
    {"train-missing-file", "train -q $D/absent.csv -o $D/out.evir", 1, "absent.csv: cannot read: No such file or directory"},
    {"train-unwritable", "train -q --synthetic xor --epochs 1 -o $D/a_file/out.evir", 1,
     "a_file/out.evir: cannot write: Not a directory"},
    {"train-resume-missing", "train -q --synthetic xor --epochs 1 --resume $D/no_checkpoint -o $D/out.evir", 1,
     "no_checkpoint/state.json: cannot read: No such file or directory"},
    {"train-negative-patience", "train -q --synthetic xor --patience -1 -o $D/out.evir", 1,
     "--patience must be at least 0"},
    // ---- raw tables ----
    {"train-table-all-missing", "train -q $D/all_missing.csv -o $D/out.evir", 1,
     "all_missing.csv: no feature column left (dropped: a)"},
    {"train-table-one-class", "train -q $D/one_class.csv -o $D/out.evir", 1,
     "one_class.csv: target 'y' has one class ('yes'): nothing to classify"},
    {"train-table-many-levels", "train -q $D/many_levels.csv --epochs 1 --max-ops 0 -o $D/out.evir", 0, ""},
    {"train-table-quoted-levels", "train -q $D/quoted_levels.csv --epochs 1 --max-ops 0 -o $D/out.evir", 0, ""},
    {"train-drop-unknown", "train -q $D/ok.csv --drop nope -o $D/out.evir", 1,
     "ok.csv: --drop names no column 'nope' (columns: a, b)"},
    {"train-drop-target", "train -q $D/ok.csv --drop b -o $D/out.evir", 1, "--drop names the target column 'b'"},
    {"train-categorical-and-numeric", "train -q $D/ok.csv --categorical a --numeric a -o $D/out.evir", 1,
     "column 'a' is given both --categorical and --numeric"},
    {"train-numeric-text", "train -q $D/text_feature.csv --numeric a -o $D/out.evir", 1,
     "text_feature.csv:2: column 'a' is --numeric, but 'x' is not a number (nor a missing cell: empty, NA, NaN, ?, null)"},
    {"train-max-levels", "train -q $D/ok.csv --max-levels 0 -o $D/out.evir", 1, "--max-levels must be at least 1"},
    {"train-one-hot-levels", "train -q $D/ok.csv --one-hot-levels -1 -o $D/out.evir", 1,
     "--one-hot-levels must be at least 0"},
    {"train-regress-text-target", "train -q $D/text.csv --task regress -o $D/out.evir", 1,
     "text.csv:2: --task regress, but target 'b' has 'x', not a number"},
    {"train-negative-significance", "train -q --synthetic xor --significance -0.5 -o $D/out.evir", 1,
     "--significance must be at least 0"},
};

/// Replaces every `$D` and `$G` in `s`.
std::string expand(std::string s, const std::string& dir) {
  for (auto [key, value] : {std::pair<std::string, std::string>{"$D", dir}, {"$G", kGolden}})
    for (std::size_t at; (at = s.find(key)) != std::string::npos;) s.replace(at, key.size(), value);
  return s;
}

/// Permission checks do not apply to root (CI runs as root): such cases are skipped there.
bool permissions_apply() { return geteuid() != 0; }

bool needs_permissions(const Case& c) {
  const std::string id = c.id;
  return id == "ir-unreadable" || id == "csv-unreadable" || id == "out-read-only-dir";
}

/// A scratch directory holding kFiles, the unreadable ones chmod 000, and a read-only folder.
class Scratch {
 public:
  Scratch() {
    for (const File& f : kFiles) evoc::write_file_atomic(tmp_.file(f.name), f.text);
    for (const char* name : {"unreadable.evir", "unreadable.csv"})
      std::filesystem::permissions(tmp_.file(name), std::filesystem::perms::none);
    std::filesystem::create_directory(tmp_.file("read_only"));
    std::filesystem::permissions(tmp_.file("read_only"),
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::permissions(tmp_.file("read_only"), std::filesystem::perms::owner_all, ec);
  }
  std::string dir() const { return tmp_.path().string(); }
  /// Names of the entries of the scratch directory (recursively), for "nothing was written".
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::recursive_directory_iterator(
             tmp_.path(), std::filesystem::directory_options::skip_permission_denied))
      names.insert(std::filesystem::relative(e.path(), tmp_.path()).string());
    return names;
  }

 private:
  TempDir tmp_;
};

void check_case(const Case& c) {
  const std::string id = c.id;
  CAPTURE(id);
  if (needs_permissions(c) && !permissions_apply()) {
    MESSAGE(id << ": skipped (running as root, file permissions do not block it)");
    return;
  }
  Scratch scratch;
  const std::set<std::string> before = scratch.listing();
  const std::string args = expand(c.args, scratch.dir());
  CAPTURE(args);
  const auto r = run_evoc(args);
  CAPTURE(r.err);
  CHECK(r.status == c.status);
  const std::string expected = expand(c.message, scratch.dir());
  if (c.status == 0) {
    CHECK(r.out == expected);
  } else {
    CHECK(r.err.find(expected) != std::string::npos);
    CHECK(r.out.empty());
    // Nothing written, nothing half-written, no temporary file left behind.
    CHECK(scratch.listing() == before);
    CHECK(evoc::read_file(scratch.dir() + "/keep.csv") == "previous contents\n");
  }
  // Exit statuses above 128 are signals: never a crash.
  CHECK(r.status < 128);
}

bool have_trainer() { return run_evoc("train --help").status == 0; }

}  // namespace

TEST_CASE("bad inputs to the command line: a located message, a non-zero exit, nothing written") {
  for (const Case& c : kCliCases) check_case(c);
}

TEST_CASE("bad inputs to evoc train") {
  if (!have_trainer()) {
    MESSAGE("evoc train is not in this build: its bad inputs are skipped");
    return;
  }
  for (const Case& c : kTrainCases) check_case(c);
}

// ---- the C API ------------------------------------------------------------------------------

namespace {

/// The ids of the C API rows (the test below checks it runs exactly these).
const std::set<std::string> kCapiIds = {
    "capi-null-options-out", "capi-null-options",   "capi-opt-level-range", "capi-output-range",
    "capi-threads-negative", "capi-null-path",      "capi-null-kernel-out", "capi-null-text",
    "capi-missing-file",     "capi-malformed-text", "capi-truncated-text",  "capi-null-kernel-run",
    "capi-null-x",           "capi-null-y",         "capi-negative-rows",   "capi-small-stride",
    "capi-zero-rows",        "capi-partial-row",    "capi-small-output",    "capi-predict-null-x",
    "capi-null-n-in-out",    "capi-null-kernel-n-out"};

/// A C API call's status and evoc_last_error() right after it.
struct Status {
  int code;
  std::string error;
};

template <class Call>
Status call(Call&& f) {
  const int code = f();
  return {code, evoc_last_error()};
}

const char* kTinyModel =
    "evir 1\nmodule \"t\" inputs 2 outputs 1\ninput %0 \"a\"\ninput %1 \"b\"\n%2 = add %0, %1\noutput %2 \"y\"\n";

/// Options that keep the kernel cache out of the way.
evoc_options* quiet_options() {
  evoc_options* o = nullptr;
  REQUIRE(evoc_options_create(&o) == EVOC_OK);
  REQUIRE(evoc_options_disable_cache(o, 1) == EVOC_OK);
  return o;
}

}  // namespace

TEST_CASE("bad inputs to the C API: status codes and messages, never a crash") {
  evoc_options* options = quiet_options();
  evoc_kernel* k = nullptr;
  REQUIRE(evoc_kernel_from_text(kTinyModel, std::strlen(kTinyModel), options, &k) == EVOC_OK);
  float x[4] = {1, 2, 3, 4}, y[2] = {0, 0};
  int64_t n = 0;

  struct Row {
    const char* id;
    Status got;
    int code;
    const char* message;
  };
  const Row rows[] = {
      {"capi-null-options-out", call([] { return evoc_options_create(nullptr); }), EVOC_ERROR_NULL_ARGUMENT,
       "evoc_options_create: 'out' is NULL"},
      {"capi-null-options", call([] { return evoc_options_set_threads(nullptr, 1); }), EVOC_ERROR_NULL_ARGUMENT,
       "'options' is NULL"},
      {"capi-opt-level-range", call([&] { return evoc_options_set_opt_level(options, 9); }),
       EVOC_ERROR_INVALID_ARGUMENT, "evoc_options_set_opt_level"},
      {"capi-output-range", call([&] { return evoc_options_set_output(options, 7); }), EVOC_ERROR_INVALID_ARGUMENT,
       "evoc_options_set_output"},
      {"capi-threads-negative", call([&] { return evoc_options_set_threads(options, -1); }),
       EVOC_ERROR_INVALID_ARGUMENT, "evoc_options_set_threads"},
      {"capi-null-path", call([&] { return evoc_kernel_from_file(nullptr, options, &k); }), EVOC_ERROR_NULL_ARGUMENT,
       "'path' is NULL"},
      {"capi-null-kernel-out", call([&] { return evoc_kernel_from_text(kTinyModel, 10, options, nullptr); }),
       EVOC_ERROR_NULL_ARGUMENT, "'out' is NULL"},
      {"capi-null-text", call([&] { evoc_kernel* t = nullptr; return evoc_kernel_from_text(nullptr, 5, options, &t); }),
       EVOC_ERROR_NULL_ARGUMENT, "'text' is NULL"},
      {"capi-missing-file",
       call([&] { evoc_kernel* t = nullptr; return evoc_kernel_from_file("/no/such/model.evir", options, &t); }),
       EVOC_ERROR_FAILED, "/no/such/model.evir: cannot read: No such file or directory"},
      {"capi-malformed-text",
       call([&] { evoc_kernel* t = nullptr; return evoc_kernel_from_text("evir 1\nmodule", 13, options, &t); }),
       EVOC_ERROR_FAILED, "<text>:2:7: error: expected module name (a quoted string), found end of line"},
      {"capi-truncated-text",  // the size cuts the text short: only `size` bytes are read
       call([&] { evoc_kernel* t = nullptr; return evoc_kernel_from_text(kTinyModel, 40, options, &t); }),
       EVOC_ERROR_FAILED, "error:"},
      {"capi-null-kernel-run", call([&] { return evoc_kernel_run(nullptr, x, 1, 2, y, 1); }),
       EVOC_ERROR_NULL_ARGUMENT, "'kernel' is NULL"},
      {"capi-null-x", call([&] { return evoc_kernel_run(k, nullptr, 1, 2, y, 1); }), EVOC_ERROR_NULL_ARGUMENT,
       "'x' is NULL"},
      {"capi-null-y", call([&] { return evoc_kernel_run(k, x, 1, 2, nullptr, 1); }), EVOC_ERROR_NULL_ARGUMENT,
       "'y' is NULL"},
      {"capi-negative-rows", call([&] { return evoc_kernel_run(k, x, -1, 2, y, 1); }), EVOC_ERROR_INVALID_ARGUMENT,
       "negative row count -1"},
      {"capi-small-stride", call([&] { return evoc_kernel_run(k, x, 2, 1, y, 1); }), EVOC_ERROR_INVALID_ARGUMENT,
       "are smaller than the rows"},
      {"capi-zero-rows", call([&] { return evoc_kernel_run(k, nullptr, 0, 2, nullptr, 1); }), EVOC_OK, ""},
      {"capi-partial-row", call([&] { return evoc_kernel_predict(k, x, 3, y, 2); }), EVOC_ERROR_INVALID_ARGUMENT,
       "3 input floats are not whole rows of 2"},
      {"capi-small-output", call([&] { return evoc_kernel_predict(k, x, 4, y, 1); }), EVOC_ERROR_INVALID_ARGUMENT,
       "output has room for 1 floats, 2 rows need 2"},
      {"capi-predict-null-x", call([&] { return evoc_kernel_predict(k, nullptr, 4, y, 2); }),
       EVOC_ERROR_NULL_ARGUMENT, "'x' is NULL"},
      {"capi-null-n-in-out", call([&] { return evoc_kernel_n_in(k, nullptr); }), EVOC_ERROR_NULL_ARGUMENT,
       "'out' is NULL"},
      {"capi-null-kernel-n-out", call([&] { return evoc_kernel_n_out(nullptr, &n); }), EVOC_ERROR_NULL_ARGUMENT,
       "'kernel' is NULL"},
  };
  std::set<std::string> ran;
  for (const Row& r : rows) {
    const std::string id = r.id;
    ran.insert(id);
    CAPTURE(id);
    CAPTURE(r.got.error);
    CHECK(r.got.code == r.code);
    CHECK(r.got.error.find(r.message) != std::string::npos);
  }
  CHECK(ran == kCapiIds);
  // Freeing NULL is a no-op, as free() is.
  evoc_kernel_free(nullptr);
  evoc_options_free(nullptr);
  // After all that, the kernel still works.
  CHECK(evoc_kernel_predict(k, x, 4, y, 2) == EVOC_OK);
  CHECK(y[0] == 3.0f);
  CHECK(y[1] == 7.0f);
  evoc_kernel_free(k);
  evoc_options_free(options);
}

// ---- the table in docs/bad-inputs.md --------------------------------------------------------

TEST_CASE("docs/bad-inputs.md lists exactly the ids tried here") {
  std::set<std::string> tested;
  for (const Case& c : kCliCases) tested.insert(c.id);
  for (const Case& c : kTrainCases) tested.insert(c.id);
  tested.insert(kCapiIds.begin(), kCapiIds.end());
  std::set<std::string> documented;
  std::istringstream lines(evoc::read_file(kDoc));
  for (std::string line; std::getline(lines, line);) {
    // A row of a table starts with its id: | `ir-empty` | ...
    if (!line.starts_with("| `")) continue;
    const std::size_t end = line.find('`', 3);
    if (end != std::string::npos) documented.insert(line.substr(3, end - 3));
  }
  for (const auto& id : tested) {
    CAPTURE(id);
    CHECK(documented.count(id) == 1);
  }
  for (const auto& id : documented) {
    CAPTURE(id);
    CHECK(tested.count(id) == 1);
  }
}
