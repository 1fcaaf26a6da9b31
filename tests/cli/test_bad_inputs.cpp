// Every bad input in docs/bad-inputs.md, tried: each row of the table there is a case here with
// the same id, run through the evoc executable (or the C API), and must get the documented exit
// status and message, with nothing written to the output path and no temporary file left behind.
// A last test checks that the table and these cases name the same ids.
//
// Paths in a case: $D is the case's scratch directory (holding the files of kFiles), $G the
// golden IR folder of the IR tests.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <functional>
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
    {"two_classes.csv", "a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n"},
    {"labelled_header_only.csv", "a,b,label\n"},
    {"target_meta.evir",
     "evir 1\nmodule \"m\" inputs 2 outputs 1\nmeta \"target\" \"price\"\ninput %0 \"a\"\ninput %1 \"b\"\n"
     "%2 = add %0, %1\noutput %2 \"y\"\n"},
    // ensemble members (evoc link)
    {"reg_ab.evir",
     "evir 1\nmodule \"r\" inputs 2 outputs 1\nmeta \"task\" \"regress\"\ninput %0 \"a\"\ninput %1 \"b\"\n"
     "%2 = add %0, %1\noutput %2 \"y\"\n"},
    {"reg_pq.evir",
     "evir 1\nmodule \"r\" inputs 2 outputs 1\nmeta \"task\" \"regress\"\ninput %0 \"p\"\ninput %1 \"q\"\n"
     "%2 = add %0, %1\noutput %2 \"y\"\n"},
    {"reg_two.evir",
     "evir 1\nmodule \"r\" inputs 2 outputs 2\nmeta \"task\" \"regress\"\ninput %0 \"a\"\ninput %1 \"b\"\n"
     "%2 = add %0, %1\noutput %2 \"y\"\noutput %1 \"z\"\n"},
    {"cls_ab.evir",
     "evir 1\nmodule \"c\" inputs 2 outputs 2\nmeta \"task\" \"classify\"\nmeta \"classes\" \"no,yes\"\n"
     "input %0 \"a\"\ninput %1 \"b\"\noutput %0 \"no\"\noutput %1 \"yes\"\n"},
    {"cls_yes_no.evir",
     "evir 1\nmodule \"c\" inputs 2 outputs 2\nmeta \"task\" \"classify\"\nmeta \"classes\" \"yes,no\"\n"
     "input %0 \"a\"\ninput %1 \"b\"\noutput %0 \"yes\"\noutput %1 \"no\"\n"},
    // names, numbers, encodings, columns
    {"dup_outputs.evir",
     "evir 1\nmodule \"m\" inputs 1 outputs 2\ninput %0 \"a\"\n%1 = neg %0\noutput %1 \"y\"\noutput %0 \"y\"\n"},
    {"dup_inputs.evir",
     "evir 1\nmodule \"m\" inputs 2 outputs 1\ninput %0 \"a\"\ninput %1 \"a\"\n%2 = add %0, %1\noutput %2 \"y\"\n"},
    {"empty_output_name.evir", "evir 1\nmodule \"m\" inputs 1 outputs 1\ninput %0 \"a\"\noutput %0 \"\"\n"},
    {"underflow.evir",
     "evir 1\nmodule \"m\" inputs 1 outputs 3\ninput %0 \"a\"\n%1 = const 1e-46\n%2 = const 1e-40\n"
     "%3 = const -1e-320\noutput %1 \"p\"\noutput %2 \"q\"\noutput %3 \"r\"\n"},
    {"underflow.csv", "a,b\n1e-40,1e-320\n"},
    {"utf16.csv", std::string("\xFF\xFE" "a\0,\0b\0\n\0" "1\0,\0" "2\0\n\0", 18)},
    {"nul.csv", std::string("a,b\n1,\0\n", 8)},
    {"swapped.csv", "b,a\n2,1\n"},
    {"extra_columns.csv", "c,b,d,a\n9,2,8,1\n"},
    {"missing_column.csv", "a,c\n1,2\n"},
    {"headerless.csv", "1,2\n3,4\n"},
    {"identity.evir", "evir 1\nmodule \"identity\" inputs 1 outputs 1\ninput %0 \"a\"\noutput %0 \"y\"\n"},
    {"huge_targets.csv", "a,t\n1e30,1.000001e30\n2e30,2e30\n3e30,2.999999e30\n4e30,4e30\n"},
    {"named_exp.evir",
     "evir 1\nmodule \"exp\" inputs 1 outputs 1\ninput %0 \"a\"\n%1 = exp %0\noutput %1 \"y\"\n"},
    {"comment_name.evir",
     "evir 1\nmodule \"m */ int broken = ; /* x\" inputs 1 outputs 1\ninput %0 \"a */ b\"\n%1 = neg %0\n"
     "output %1 \"y /* z\"\n"},
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
    // --resume $D reads this as the checkpoint's state.json; --validation-csv with other columns
    {"state.json", "[1, 2]\n"},
    {"swapped_labelled.csv", "b,a,label\n2,1,0\n"},
};

/// The CUDA driver every evoc started here would load: a missing file, so that `--engine gpu`
/// fails the same way on machines with and without a GPU.
[[maybe_unused]] const bool kNoCudaDriver = ::setenv("EVOC_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1) == 0;

/// One bad input: an evoc command line and what it must get.
struct Case {
  const char* id;       ///< the row's id in docs/bad-inputs.md
  std::string args;     ///< shell text after `evoc`
  int status;           ///< expected exit status
  std::string message;  ///< expected in stderr (or in stdout when the status is 0)
  std::string note{};   ///< status 0: expected in stderr too (a note)
  bool stdout_contains = false;  ///< status 0: stdout contains `message` (else equals it)
  std::string env{};             ///< NAME=VALUE in the environment of the run
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
     "other_names.csv: no columns named 'a', 'b' (columns: p, q)"},
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
     "narrow.csv: has 1 columns but model 'binary' takes 2 inputs (no column named 'b')"},
    // ---- flags --------------------------------------------------------------------------------
    {"flag-unknown-command", "frobnicate", 2, "evoc: error: unknown command 'frobnicate'"},
    {"flag-no-command", "", 2, "A subcommand is required"},
    {"flag-unknown", "run " + kModel + " -i $D/ok.csv --bogus-flag", 2,
     "The following argument was not expected: --bogus-flag"},
    {"flag-missing-required", "run " + kModel, 2, "--input is required"},
    {"flag-missing-value", "run " + kModel + " -i", 2, "--input: 1 required TEXT missing"},
    {"flag-repeated", "run " + kModel + " -i $D/ok.csv --engine jit --engine interp", 2,
     "--engine: At Most 1 required but received 2"},
    {"flag-bad-choice", "run " + kModel + " -i $D/ok.csv --engine tpu", 2, "--engine: tpu not in {interp,jit,gpu}"},
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
     "--emit: bogus not in {llvm,asm,obj,header,so,c,ptx,cubin}"},
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
    {"compile-gpu-bad-arch", "compile " + kModel + " --emit=ptx --gpu sm_9 -o $D/out.ptx", 1,
     "'sm_9' is not a CUDA GPU architecture (expected sm_NN, NN >= 52, e.g. sm_90)"},
    {"compile-gpu-not-gpu-emit", "compile " + kModel + " --emit=obj --gpu sm_90 -o $D/out.o", 1,
     "compile: --gpu sm_90 applies to --emit=ptx and --emit=cubin only"},
    {"compile-gpu-mcpu", "compile " + kModel + " --emit=ptx --mcpu skylake -o $D/out.ptx", 1,
     "compile: --emit=ptx targets a CUDA GPU; choose it with --gpu, not --mcpu/--target"},
    {"run-gpu-no-driver", "run " + kModel + " -i $D/ok.csv --engine gpu -o $D/out.csv", 1,
     "no CUDA driver: cannot load"},
    {"compile-vector-width-range", "compile " + kModel + " --emit=obj --vector-width 1000 -o $D/out.o", 2,
     "--vector-width: Value 1000 not in range 1 to 64"},
    {"compile-unwritable", "compile " + kModel + " --emit=obj -o $D/a_file/out.o", 1,
     "a_file/out.o: cannot write: Not a directory"},
    // ---- evoc link ---------------------------------------------------------------------------
    {"link-inputs-differ", "link $D/reg_ab.evir $D/reg_pq.evir -o $D/out.evir", 1,
     "$D/reg_pq.evir: inputs differ from $D/reg_ab.evir's (members' inputs are matched by name): missing 'a', "
     "'b'; not in $D/reg_ab.evir: 'p', 'q'"},
    {"link-task-differs", "link $D/cls_ab.evir $D/reg_ab.evir -o $D/out.evir", 1,
     "$D/reg_ab.evir: metadata 'task' is 'regress' but $D/cls_ab.evir's is 'classify'"},
    {"link-classes-differ", "link $D/cls_ab.evir $D/cls_yes_no.evir -o $D/out.evir", 1,
     "$D/cls_yes_no.evir: metadata 'classes' is 'yes,no' but $D/cls_ab.evir's is 'no,yes'"},
    {"link-outputs-differ", "link $D/reg_ab.evir $D/reg_two.evir -o $D/out.evir", 1,
     "$D/reg_two.evir: has 2 outputs but $D/reg_ab.evir has 1"},
    {"link-no-task", "link " + kModel + " " + kModel + " -o $D/out.evir", 1,
     "02_binary.evir: no 'task' metadata; say whether the members classify or regress (--task)"},
    {"link-vote-regression", "link $D/reg_ab.evir $D/reg_ab.evir --combine vote -o $D/out.evir", 1,
     "--combine vote: the members are regressors (task 'regress'); a vote needs classifiers"},
    {"link-weights-count", "link $D/reg_ab.evir $D/reg_ab.evir --weights 1,2,3 -o $D/out.evir", 1,
     "--weights: 3 weights for 2 members"},
    {"link-weights-negative", "link $D/reg_ab.evir $D/reg_ab.evir --weights 1,-1 -o $D/out.evir", 1,
     "--weights: weight 2 is -1; weights must be finite and >= 0"},
    {"link-weights-zero", "link $D/reg_ab.evir $D/reg_ab.evir --weights 0,0 -o $D/out.evir", 1,
     "--weights: all weights are 0"},
    {"link-unknown-combine", "link $D/reg_ab.evir --combine median -o $D/out.evir", 2,
     "--combine: median not in {mean,vote}"},
    {"link-no-members", "link -o $D/out.evir", 2, "MEMBERS is required"},
    {"link-missing-member", "link $D/reg_ab.evir $D/absent.evir -o $D/out.evir", 1,
     "absent.evir: cannot read: No such file or directory"},
    {"link-unwritable", "link $D/reg_ab.evir $D/reg_ab.evir -o $D/a_file/out.evir", 1,
     "a_file/out.evir: cannot write: Not a directory"},
    // ---- outputs that are devices, and failed writes ------------------------------------------
    {"out-dev-full", "run " + kModel + " -i $D/ok.csv -o /dev/full", 1, "/dev/full: cannot write: No space left on device"},
    {"out-fmt-dev-full", "fmt " + kModel + " -o /dev/full", 1, "/dev/full: cannot write: No space left on device"},
    {"out-compile-dev-full", "compile " + kModel + " --emit=llvm -o /dev/full", 1,
     "/dev/full: cannot write: No space left on device"},
    {"out-symlink-loop", "fmt " + kModel + " -o $D/loop", 1, "loop: cannot write: Too many levels of symbolic links"},
    // ---- reading what has no end -------------------------------------------------------------
    {"ir-device-no-end", "verify /dev/zero", 1,
     "/dev/zero: cannot read: not a text file (a NUL byte at offset 0, read from a device or pipe)"},
    {"csv-device-no-end", "run " + kModel + " -i /dev/zero -o $D/out.csv", 1,
     "/dev/zero: cannot read: not a text file (a NUL byte at offset 0, read from a device or pipe)"},
    // ---- encodings and numbers ---------------------------------------------------------------
    {"csv-utf16", "run " + kModel + " -i $D/utf16.csv -o $D/out.csv", 1,
     "utf16.csv:1:1: error: the file is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8"},
    {"csv-nul-byte", "run " + kModel + " -i $D/nul.csv -o $D/out.csv", 1,
     "nul.csv:2:3: error: a NUL byte: the file is not UTF-8 text"},
    {"csv-underflow", "run " + kModel + " --engine interp -i $D/underflow.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n1e-40,1e-40,0,inf,0,1e-40\n"},
    {"ir-f32-underflow", "fmt $D/underflow.evir", 0,
     "evir 1\nmodule \"m\" inputs 1 outputs 3\ninput %0 \"a\"\n%1 = const 0\n%2 = const 1e-40\n%3 = const -0\n"
     "output %1 \"p\"\noutput %2 \"q\"\noutput %3 \"r\"\n"},
    // ---- names -------------------------------------------------------------------------------
    {"ir-duplicate-output-names", "verify $D/dup_outputs.evir", 1,
     "dup_outputs.evir:2:1: error: outputs 0 and 1 are both named \"y\""},
    {"ir-duplicate-input-names", "verify $D/dup_inputs.evir", 1,
     "dup_inputs.evir:2:1: error: inputs 0 and 1 are both named \"a\""},
    {"ir-empty-output-name", "verify $D/empty_output_name.evir", 1,
     "empty_output_name.evir:2:1: error: output 0 has an empty name"},
    // ---- columns -----------------------------------------------------------------------------
    {"rows-by-name-default", "run " + kModel + " --engine interp -i $D/swapped.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n3,-1,2,0.5,1,2\n"},
    {"rows-extra-columns", "run " + kModel + " --engine interp -i $D/extra_columns.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n3,-1,2,0.5,1,2\n",
     "note: " "$D/extra_columns.csv: columns c, d not among the inputs of model 'binary': ignored"},
    {"rows-missing-column", "run " + kModel + " -i $D/missing_column.csv -o $D/out.csv", 1,
     "missing_column.csv: no column named 'b' (columns: a, c); model 'binary' reads its inputs by name "
     "(--by-position takes the first 2 columns instead)"},
    {"rows-headerless", "run " + kModel + " --engine interp -i $D/headerless.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n3,-1,2,0.5,1,2\n7,-1,12,0.75,3,4\n"},
    {"rows-by-position", "run " + kModel + " --engine interp --by-position -i $D/swapped.csv", 0,
     "sum,difference,product,quotient,minimum,maximum\n3,1,2,2,1,2\n"},
    {"rows-by-name-and-position", "run " + kModel + " --by-name --by-position -i $D/swapped.csv", 2,
     "--by-name excludes --by-position"},
    {"eval-by-name", "eval " + kModel + " --engine interp -i $D/labelled.csv --target label", 0, "accuracy  ", "", true},
    {"eval-r2-large-targets", "eval $D/identity.evir --engine interp -i $D/huge_targets.csv --target t", 0,
     "r2        1.0000", "", true},
    // ---- evoc opt ----------------------------------------------------------------------------
    {"opt-weight-threshold-inactive", "opt " + kModel + " --weight-threshold 1e30 -o $D/out.evir", 0, "",
     "--weight-threshold acts only through the drop-small-weights pass"},
    {"opt-weight-threshold-nan", "opt " + kModel + " --weight-threshold nan -o $D/out.evir", 1,
     "--weight-threshold must be a finite number at least 0, got nan"},
    // ---- generated C: names and comments -----------------------------------------------------
    {"compile-name-c-library", "compile " + kModel + " --emit=c --name memcpy -o $D/out.c", 1,
     "kernel name 'memcpy' is declared by the C library headers the generated code includes"},
    {"compile-name-c-math", "compile " + kModel + " --emit=c --name sqrtf -o $D/out.c", 1,
     "kernel name 'sqrtf' is declared by the C library headers the generated code includes"},
    {"compile-name-c-type", "compile " + kModel + " --emit=header --name int64_t -o $D/out.h", 1,
     "kernel name 'int64_t' is declared by the C library headers the generated code includes"},
    {"compile-name-c-macro", "compile " + kModel + " --emit=c --name EVOC_INLINE -o $D/out.c", 1,
     "kernel name 'EVOC_INLINE' is declared by the C library headers the generated code includes (math.h, "
     "stdint.h, string.h) or by evoc's generated C itself"},
    {"compile-name-c-helper", "compile " + kModel + " --emit=c --name evoc_exp -o $D/out.c", 1,
     "kernel name 'evoc_exp' is the name of a function the generated C defines itself; choose another with --name"},
    {"compile-default-name-c-helper", "compile $D/named_exp.evir --emit=c -o $D/out.c", 1,
     "kernel name 'evoc_exp' (the default for module \"exp\") is the name of a function the generated C defines "
     "itself"},
    // ---- targets and the C compiler ----------------------------------------------------------
    {"compile-cpu-i386", "compile " + kModel + " --emit=obj --target x86_64-unknown-linux-gnu --mcpu i386 -o $D/out.o", 1,
     "CPU 'i386' cannot run 64-bit code, which target 'x86_64-unknown-linux-gnu' needs"},
    {"compile-cpu-i686", "compile " + kModel + " --emit=asm --target x86_64-unknown-linux-gnu --mcpu i686 -o $D/out.s", 1,
     "CPU 'i686' cannot run 64-bit code"},
    {"compile-cpu-pentium4", "compile " + kModel + " --emit=obj --target x86_64-unknown-linux-gnu --mcpu pentium4 -o $D/out.o",
     1, "CPU 'pentium4' cannot run 64-bit code"},
    {"compile-cpu-athlon", "compile " + kModel + " --emit=llvm --target x86_64-unknown-linux-gnu --mcpu athlon -o $D/out.ll",
     1, "CPU 'athlon' cannot run 64-bit code"},
    {"compile-mattr-no-64bit-mode",
     "compile " + kModel + " --emit=obj --target x86_64-unknown-linux-gnu --mattr=-64bit-mode -o $D/out.o", 1,
     "--mattr '-64bit-mode' turns off 64-bit mode, which target 'x86_64-unknown-linux-gnu' needs"},
    {"compile-mattr-unknown", "compile " + kModel + " --emit=obj --mattr=+nonsense -o $D/out.o", 1,
     "unknown target feature '+nonsense' in --mattr"},
    {"compile-cc-with-arguments", "compile " + kModel + " --emit=so -o $D/out.so", 0, "", "", false, "CC=env cc"},
    {"compile-cc-failure-says-why", "compile " + kModel + " --emit=so -o $D/out.so", 1,
     "with 'sh -c 'echo \"ld: final link failed: No space left on device\" >&2; exit 1' sh -shared' failed (exit 1):\n"
     "ld: final link failed: No space left on device",
     "", false, "CC=sh -c 'echo \"ld: final link failed: No space left on device\" >&2; exit 1' sh"},
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
    {"train-ops-auto-in-list", "train -q --synthetic xor --ops auto,mul -o $D/out.evir", 1,
     "--ops: 'auto' (the task's default kinds) stands alone, not in a list"},
    {"train-refit-value", "train -q --synthetic xor --no-refit=maybe -o $D/out.evir", 2,
     "Could not convert: --refit = maybe"},
    {"train-ensemble-zero", "train -q --synthetic xor --ensemble 0 -o $D/out.evir", 2,
     "--ensemble: Value 0 not in range 1 to 1000"},
    {"train-members-dir-file", "train -q --synthetic xor --epochs 1 --ensemble 2 --members-dir $D/a_file -o $D/out.evir",
     1, "--members-dir $D/a_file: not a directory"},
    {"train-members-dir-alone", "train -q --synthetic xor --members-dir $D/members -o $D/out.evir", 1,
     "--members-dir: needs --ensemble K"},
    {"train-ensemble-islands", "train -q --synthetic xor --ensemble 2 --workers 2 --islands -o $D/out.evir", 1,
     "--ensemble: not supported with --islands or a run of many ranks"},
    {"train-ensemble-history", "train -q --synthetic xor --ensemble 2 --history $D/h.jsonl -o $D/out.evir", 1,
     "--ensemble: not supported with --rank, --history or --test-csv"},
    {"train-ensemble-few-rows", "train -q $D/ok.csv --ensemble 3 -o $D/out.evir", 1,
     "--ensemble 3: ok: 2 rows outside the test split are too few to cut into 7 validation folds for 3 members"},
    {"dist-unreachable-master",
     "train -q --synthetic xor --epochs 1 --rank 1 --world-size 2 --master 127.0.0.1:1 --timeout 1 -o $D/out.evir", 1,
     "--master 127.0.0.1:1: rank 1 cannot reach the master within 1 s"},
    {"dist-rank-range", "train -q --synthetic xor --epochs 1 --rank 2 --world-size 2 -o $D/out.evir", 1,
     "--rank 2: must be below --world-size 2"},
    {"dist-islands-alone", "train -q --synthetic xor --epochs 1 --islands -o $D/out.evir", 1,
     "--islands needs --workers N (or a run of many ranks)"},
    {"dist-zero-workers", "train -q --synthetic xor --epochs 1 --workers 0 -o $D/out.evir", 1,
     "--workers must be at least 1"},
    {"train-checkpoint-file", "train -q --synthetic xor --epochs 1 --checkpoint $D/a_file -o $D/out.evir", 1,
     "a_file: cannot use as a checkpoint directory: Not a directory"},
    {"train-checkpoint-below-file", "train -q --synthetic xor --epochs 1 --checkpoint $D/a_file/ck -o $D/out.evir", 1,
     "a_file/ck: cannot create the checkpoint directory: Not a directory"},
    {"train-checkpoint-read-only", "train -q --synthetic xor --epochs 1 --checkpoint $D/read_only/ck -o $D/out.evir", 1,
     "read_only/ck: cannot create the checkpoint directory: Permission denied"},
    {"train-resume-not-checkpoint", "train -q --synthetic xor --epochs 1 --resume $D -o $D/out.evir", 1,
     "state.json: not a valid checkpoint: the file holds an array, expected an object"},
    {"train-lr-inf", "train -q --synthetic xor --lr inf -o $D/out.evir", 1, "--lr must be a finite number, not inf"},
    {"train-prune-below-nan", "train -q --synthetic xor --prune-below nan -o $D/out.evir", 1,
     "--prune-below must be a finite number, not nan"},
    {"train-diverges", "train -q --synthetic interaction --epochs 3 --lr 1e30 -o $D/out.evir", 1,
     "training diverged in epoch 1: the training loss is inf (try a smaller --lr)"},
    {"train-threads-beyond-cores", "train -q --synthetic xor --epochs 1 --threads 1000 -o $D/out.evir", 0, ""},
    {"train-time-limit-not-duration", "train -q --synthetic xor --time-limit soon -o $D/out.evir", 1,
     "--time-limit: 'soon' is not a duration (a positive number with s, m or h: 30s, 5m, 2h)"},
    {"train-time-limit-negative", "train -q --synthetic xor --time-limit -5s -o $D/out.evir", 1,
     "--time-limit: '-5s' is not a duration"},
    {"train-early-stop-negative", "train -q --synthetic xor --early-stop -1 -o $D/out.evir", 1,
     "--early-stop must be at least 0"},
    {"train-test-fraction-range", "train -q --synthetic xor --test-fraction 1 -o $D/out.evir", 1,
     "--test-fraction must be in [0, 1)"},
    {"train-test-csv-without-split", "train -q --synthetic xor --test-csv $D/test.csv -o $D/out.evir", 1,
     "--test-csv: there is no test split to write (hold one out with --test-fraction, e.g. 0.15)"},
    {"train-validation-csv-missing", "train -q $D/two_classes.csv --validation-csv $D/absent.csv -o $D/out.evir", 1,
     "absent.csv: cannot read: No such file or directory"},
    {"train-validation-csv-no-target", "train -q $D/two_classes.csv --validation-csv $D/ok.csv -o $D/out.evir", 1,
     "ok.csv: no column named 'label' (columns: a, b)"},
    {"train-validation-csv-columns", "train -q $D/two_classes.csv --validation-csv $D/swapped_labelled.csv -o $D/out.evir", 1,
     "swapped_labelled.csv: the validation columns (b, a, target label) are not the training data's (a, b, target label)"},
};

/// Rows of the table tested in other files: the checkpoint lock needs a second, running process
/// (tests/cli/test_train_stop.cpp); huge modules compile in parts (tests/codegen/jit_test.cpp); the
/// GPU entries of the kernel cache (tests/runtime/test_gpu.cpp).
const std::set<std::string> kTestedElsewhere = {"train-checkpoint-in-use", "huge-module-compile-time",
                                                 "cache-ptx-truncated-entry", "cache-ptx-patched-entry",
                                                 "cache-ptx-loose-permissions"};

/// Rows of docs/bad-inputs.md that need two processes at once; tried in test_distributed.cpp.
const std::set<std::string> kMultiProcessIds = {"dist-port-in-use", "dist-world-size-mismatch", "dist-other-options",
                                                 "dist-islands-resume-ranks"};

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
  return id == "ir-unreadable" || id == "csv-unreadable" || id == "out-read-only-dir" ||
         id == "train-checkpoint-read-only";
}

/// A scratch directory holding kFiles, the unreadable ones chmod 000, and a read-only folder.
class Scratch {
 public:
  Scratch() {
    for (const File& f : kFiles) evoc::write_file_atomic(tmp_.file(f.name), f.text);
    for (const char* name : {"unreadable.evir", "unreadable.csv"})
      std::filesystem::permissions(tmp_.file(name), std::filesystem::perms::none);
    std::filesystem::create_symlink("loop", tmp_.file("loop"));  // a link to itself
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
    // By hand, looking at links without following them (the scratch holds a link loop).
    std::set<std::string> names;
    std::vector<std::filesystem::path> folders{tmp_.path()};
    while (!folders.empty()) {
      const std::filesystem::path folder = folders.back();
      folders.pop_back();
      std::error_code ec;
      for (std::filesystem::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        names.insert(it->path().lexically_relative(tmp_.path()).string());
        std::error_code kind_error;
        if (std::filesystem::symlink_status(it->path(), kind_error).type() == std::filesystem::file_type::directory)
          folders.push_back(it->path());
      }
    }
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
  std::string env_name;
  if (!c.env.empty()) {
    env_name = c.env.substr(0, c.env.find('='));
    setenv(env_name.c_str(), c.env.substr(c.env.find('=') + 1).c_str(), 1);
  }
  const auto r = run_evoc(args);
  if (!env_name.empty()) unsetenv(env_name.c_str());
  CAPTURE(r.err);
  CHECK(r.status == c.status);
  const std::string expected = expand(c.message, scratch.dir());
  if (c.status == 0) {
    if (c.stdout_contains)
      CHECK(r.out.find(expected) != std::string::npos);
    else
      CHECK(r.out == expected);
    if (!c.note.empty()) CHECK(r.err.find(expand(c.note, scratch.dir())) != std::string::npos);
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
    "capi-null-n-in-out",    "capi-null-kernel-n-out", "capi-last-error-cleared"};

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
  // capi-last-error-cleared: a call that succeeds clears the message of an earlier failure, also
  // when it returns early (no rows to score).
  {
    ran.insert("capi-last-error-cleared");
    CHECK(evoc_kernel_run(k, nullptr, 1, 2, y, 1) == EVOC_ERROR_NULL_ARGUMENT);
    CHECK(std::string(evoc_last_error()).find("'x' is NULL") != std::string::npos);
    CHECK(evoc_kernel_run(k, x, 0, 2, y, 1) == EVOC_OK);
    CHECK(std::string(evoc_last_error()).empty());
    CHECK(evoc_kernel_predict(k, nullptr, 3, y, 2) != EVOC_OK);
    CHECK(evoc_kernel_predict(k, x, 0, y, 0) == EVOC_OK);
    CHECK(std::string(evoc_last_error()).empty());
    CHECK(evoc_kernel_n_in(k, nullptr) != EVOC_OK);
    CHECK(evoc_kernel_n_in(k, &n) == EVOC_OK);
    CHECK(std::string(evoc_last_error()).empty());
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

// ---- every output flag through every kind of target --------------------------------------------

namespace {

/// Rows checked by the tests below rather than by check_case.
const std::set<std::string> kTargetIds = {"out-target-regular",          "out-target-missing",
                                          "out-target-symlink",          "out-target-dangling-symlink",
                                          "out-target-fifo",             "out-target-char-device",
                                          "out-target-dash"};
const std::set<std::string> kStdoutFullIds = {"out-stdout-full-fmt",     "out-stdout-full-run",
                                              "out-stdout-full-compile", "out-stdout-full-inspect",
                                              "out-stdout-full-verify",  "out-stdout-full-eval"};
const std::set<std::string> kSpecialIds = {"ir-out-of-memory", "csv-out-of-memory", "compile-comment-in-names",
                                           "csv-pipe"};

/// A shell command line's exit status and standard error (stdout goes where the line says).
struct ShellResult {
  int status;
  std::string err;
};

ShellResult shell(const std::string& line) {
  TempDir tmp("evoc-test-shell");
  const std::string err = tmp.file("stderr");
  const int raw = std::system(("( " + line + " ) 2>" + err).c_str());
  return {WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw), evoc::read_file(err)};
}

const std::string kExe = EVOC_EXE;

namespace fs = std::filesystem;

}  // namespace

TEST_CASE("every output flag writes through every kind of target and leaves its kind alone") {
  Scratch scratch;
  const std::string d = scratch.dir();
  const std::string model = kGolden + "/02_binary.evir";
  struct Command {
    std::string args;  // before -o
    bool binary;       // refused on standard output
  };
  const std::vector<Command> commands = {
      {"run " + model + " --engine interp -i " + d + "/ok.csv", false},
      {"fmt " + model, false},
      {"dot " + model, false},
      {"opt " + model + " -O2", false},
      {"compile " + model + " --emit=llvm", false},
      {"compile " + model + " --emit=header", false},
      {"compile " + model + " --emit=c", false},
      {"compile " + model + " --emit=obj", true},
  };
  const bool root = geteuid() == 0;
  bool have_device = false;
  if (root) have_device = ::mknod((d + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
  if (!have_device) MESSAGE("out-target-char-device: skipped (needs root and mknod)");
  int k = 0;
  for (const Command& c : commands) {
    CAPTURE(c.args);
    const std::string tag = std::to_string(k++);
    // The reference: the bytes written to a new file.
    REQUIRE(shell(kExe + " " + c.args + " -o " + d + "/ref" + tag).status == 0);
    const std::string ref = evoc::read_file(d + "/ref" + tag);
    REQUIRE(!ref.empty());

    // out-target-regular: replaced, still a regular file, its permission bits kept.
    const std::string regular = d + "/regular" + tag;
    evoc::write_file_atomic(regular, "old contents\n");
    fs::permissions(regular, fs::perms::owner_read | fs::perms::owner_write);
    CHECK(shell(kExe + " " + c.args + " -o " + regular).status == 0);
    CHECK(fs::is_regular_file(fs::symlink_status(regular)));
    CHECK(evoc::read_file(regular) == ref);
    CHECK(fs::status(regular).permissions() == (fs::perms::owner_read | fs::perms::owner_write));

    // out-target-missing: created.
    const std::string missing = d + "/missing" + tag;
    CHECK(shell(kExe + " " + c.args + " -o " + missing).status == 0);
    CHECK(fs::is_regular_file(fs::symlink_status(missing)));
    CHECK(evoc::read_file(missing) == ref);

    // out-target-symlink: the link stays, its target gets the output.
    const std::string link = d + "/link" + tag, target = d + "/target" + tag;
    evoc::write_file_atomic(target, "old target\n");
    fs::create_symlink("target" + tag, link);
    CHECK(shell(kExe + " " + c.args + " -o " + link).status == 0);
    CHECK(fs::is_symlink(fs::symlink_status(link)));
    CHECK(fs::read_symlink(link) == fs::path("target" + tag));
    CHECK(fs::is_regular_file(fs::symlink_status(target)));
    CHECK(evoc::read_file(target) == ref);

    // out-target-dangling-symlink: the link stays, its missing target is created.
    const std::string dangling = d + "/dangling" + tag, new_target = d + "/new_target" + tag;
    fs::create_symlink("new_target" + tag, dangling);
    CHECK(shell(kExe + " " + c.args + " -o " + dangling).status == 0);
    CHECK(fs::is_symlink(fs::symlink_status(dangling)));
    CHECK(evoc::read_file(new_target) == ref);

    // out-target-fifo: written into, still a FIFO; the reader gets every byte.
    const std::string fifo = d + "/fifo" + tag, captured = d + "/captured" + tag;
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    const ShellResult via_fifo = shell("timeout 120 cat " + fifo + " > " + captured + " & reader=$!; " + kExe + " " + c.args +
                                       " -o " + fifo + "; status=$?; wait $reader; exit $status");
    CAPTURE(via_fifo.err);
    CHECK(via_fifo.status == 0);
    CHECK(fs::is_fifo(fs::symlink_status(fifo)));
    CHECK(evoc::read_file(captured) == ref);

    // out-target-char-device: written into, still the same device.
    if (have_device) {
      const ShellResult r = shell(kExe + " " + c.args + " -o " + d + "/null");
      CAPTURE(r.err);
      CHECK(r.status == 0);
      struct stat st {};
      REQUIRE(::lstat((d + "/null").c_str(), &st) == 0);
      CHECK(S_ISCHR(st.st_mode));
      CHECK(st.st_rdev == makedev(1, 3));
    }

    // out-target-dash: standard output (binary formats refuse it).
    const ShellResult dash = shell(kExe + " " + c.args + " -o - > " + d + "/stdout" + tag);
    if (c.binary) {
      CHECK(dash.status == 1);
      CHECK(dash.err.find("writes a binary file; give it with -o") != std::string::npos);
    } else {
      CHECK(dash.status == 0);
      CHECK(evoc::read_file(d + "/stdout" + tag) == ref);
    }
  }
  // Nothing but the outputs: no temporary file left next to them.
  for (const auto& name : scratch.listing()) {
    CAPTURE(name);
    CHECK(name.find(".tmp") == std::string::npos);
  }
}

TEST_CASE("a failed write to standard output is an error: /dev/full") {
  const std::string model = kGolden + "/02_binary.evir";
  Scratch scratch;
  const std::string d = scratch.dir();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"out-stdout-full-fmt", "fmt " + model},
      {"out-stdout-full-run", "run " + model + " --engine interp -i " + d + "/ok.csv"},
      {"out-stdout-full-compile", "compile " + model + " --emit=llvm"},
      {"out-stdout-full-inspect", "inspect " + model},
      {"out-stdout-full-verify", "verify " + model},
      {"out-stdout-full-eval", "eval " + model + " --engine interp -i " + d + "/labelled.csv --target label"},
  };
  std::set<std::string> ran;
  for (const auto& [id, args] : cases) {
    CAPTURE(id);
    ran.insert(id);
    const ShellResult r = shell(kExe + " " + args + " > /dev/full");
    CAPTURE(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("standard output: cannot write: No space left on device") != std::string::npos);
  }
  CHECK(ran == kStdoutFullIds);
}

TEST_CASE("a CSV from a pipe is read to its end") {
  // csv-pipe
  Scratch scratch;
  const std::string d = scratch.dir();
  const ShellResult r = shell("cat " + d + "/ok.csv | " + kExe + " run " + kGolden +
                              "/02_binary.evir --engine interp -i /dev/stdin > " + d + "/out.csv");
  CAPTURE(r.err);
  CHECK(r.status == 0);
  CHECK(evoc::read_file(d + "/out.csv") ==
        "sum,difference,product,quotient,minimum,maximum\n3,-1,2,0.5,1,2\n7,-1,12,0.75,3,4\n");
}

// AddressSanitizer reserves terabytes of shadow memory at start-up, so under `ulimit -v` the
// evoc it built cannot start at all; the memory limit is checked in the plain build only.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST_CASE("a file too large for memory is an error, never a shortened input") {
  if (kAddressSanitizer) {
    MESSAGE("built with AddressSanitizer, which cannot run under ulimit -v: skipped");
    return;
  }
  Scratch scratch;
  const std::string d = scratch.dir();
  // 64 GiB, sparse: it takes no disk, but no process limited to 8 GB can hold it.
  for (const char* name : {"big.evir", "big.csv"}) {
    const int fd = ::open((d + "/" + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(::ftruncate(fd, off_t{64} << 30) == 0);
    ::close(fd);
  }
  const std::string limit = "ulimit -v 8000000 && ";
  {
    CAPTURE("ir-out-of-memory");
    const ShellResult r = shell(limit + kExe + " verify " + d + "/big.evir > /dev/null");
    CAPTURE(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("big.evir: cannot read: out of memory (the file has 68719476736 bytes)") != std::string::npos);
  }
  {
    CAPTURE("csv-out-of-memory");
    const ShellResult r = shell(limit + kExe + " run " + kGolden + "/02_binary.evir -i " + d + "/big.csv -o " + d +
                                "/out.csv");
    CAPTURE(r.err);
    CHECK(r.status == 1);
    CHECK(r.err.find("big.csv: cannot read: out of memory (the file has 68719476736 bytes)") != std::string::npos);
    CHECK_FALSE(fs::exists(d + "/out.csv"));
  }
}

TEST_CASE("names with comment delimiters give a header and C that compile with -Wall -Werror") {
  // compile-comment-in-names
  Scratch scratch;
  const std::string d = scratch.dir();
  for (const char* emit : {"header", "c"}) {
    CAPTURE(emit);
    const std::string out = d + "/kernel." + (std::string(emit) == "c" ? "c" : "h");
    const ShellResult r = shell(kExe + " compile " + d + "/comment_name.evir --emit=" + emit + " -o " + out);
    CAPTURE(r.err);
    REQUIRE(r.status == 0);
    const std::string text = evoc::read_file(out);
    const ShellResult cc = shell("cc -std=c99 -Wall -Wextra -Werror -fsyntax-only -x c " + out);
    CAPTURE(cc.err);
    CAPTURE(text);
    CHECK(cc.status == 0);
  }
}

// ---- the table in docs/bad-inputs.md --------------------------------------------------------

extern const std::set<std::string> kKernelRowIds;  // test_bad_kernels.cpp

TEST_CASE("docs/bad-inputs.md lists exactly the ids tried here") {
  std::set<std::string> tested;
  tested.insert(kKernelRowIds.begin(), kKernelRowIds.end());
  for (const Case& c : kCliCases) tested.insert(c.id);
  for (const Case& c : kTrainCases) tested.insert(c.id);
  tested.insert(kCapiIds.begin(), kCapiIds.end());
  tested.insert(kMultiProcessIds.begin(), kMultiProcessIds.end());
  for (const auto* ids : {&kTargetIds, &kStdoutFullIds, &kSpecialIds}) tested.insert(ids->begin(), ids->end());
  tested.insert(kTestedElsewhere.begin(), kTestedElsewhere.end());
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
