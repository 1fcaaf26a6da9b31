#!/usr/bin/env python3
"""The Python module against the command line and scikit-learn (run by CTest as package_python).

  - Kernel.run on NumPy rows equals `evoc run` bit for bit: C-contiguous, row-strided and
    column-sliced views, float64 input, a Kernel from text; names and counts; bad shapes raise.
  - importing evoc and scoring rows does not load LibTorch;
  - predict_proba rows sum to 1 and predict is their argmax;
  - evoc.compile writes a header and a shared object;
  - evoc.train and EvolvedClassifier through cross_val_score on a shared data set (few epochs),
    EvolvedRegressor fit/predict; the trainer module is what loads LibTorch.
Exit 77 (skipped) when NumPy is missing.
"""
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:
    print("NumPy is missing: skipped")
    sys.exit(77)

if "--module-missing" in sys.argv:
    print("FAIL: python3 and NumPy are here but the evoc module was not built "
          "(install pybind11-dev and python3-dev; scripts/bootstrap.sh does)")
    sys.exit(1)

EVOC = os.environ["EVOC"]
MODEL = os.environ["EVOC_TEST_MODEL"]
INPUT = os.environ["EVOC_TEST_INPUT"]
DATA = os.environ.get("EVOC_TEST_DATA_DIR", "")
HAVE_TRAINER = os.environ.get("EVOC_HAVE_TRAINER", "1") == "1"

failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def torch_loaded():
    with open("/proc/self/maps") as maps:
        return any("libtorch" in line or "libc10" in line for line in maps)


def read_csv(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [[np.float32(float(c)) for c in line.strip().split(",")] for line in f if line.strip()]
    return header, np.array(rows, dtype=np.float32)


def same_bits(a, b):
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


import evoc  # noqa: E402

tmp = tempfile.TemporaryDirectory(prefix="evoc-python-test-")
expected_csv = os.path.join(tmp.name, "expected.csv")
subprocess.run([EVOC, "run", MODEL, "-i", INPUT, "--output", "raw", "-o", expected_csv], check=True)
out_names, expected = read_csv(expected_csv)
_, x = read_csv(INPUT)

# --- kernels -------------------------------------------------------------------------------
k = evoc.Kernel(MODEL, use_cache=False)
check(k.n_in == x.shape[1] and k.n_out == expected.shape[1], f"n_in {k.n_in}, n_out {k.n_out}")
check(list(k.output_names) == out_names, f"output names {list(k.output_names)}")
check(len(k.input_names) == k.n_in and k.input_names[0] == "sepal_length", "input names")
check(same_bits(k.run(x), expected), "Kernel.run on C-contiguous rows equals evoc run bit for bit")

wide = np.full((x.shape[0], x.shape[1] + 3), np.nan, dtype=np.float32)
wide[:, 1:1 + x.shape[1]] = x
view = wide[:, 1:1 + x.shape[1]]  # rows 7 floats apart, each row contiguous: no copy
check(not view.flags.c_contiguous and same_bits(k.run(view), expected), "column-sliced view (strided rows)")
every_other = np.repeat(x, 2, axis=0)[::2]  # row stride of two rows
check(same_bits(k.run(every_other), expected), "row-strided view x[::2]")
transposed = np.asfortranarray(x)  # not row-contiguous: copied first
check(same_bits(k.run(transposed), expected), "Fortran-ordered rows")
check(same_bits(k.run(x[::-1])[::-1], expected), "reversed rows (negative stride)")
check(same_bits(k.run(x.astype(np.float64)), expected), "float64 rows (converted)")
check(k.run(x[:0]).shape == (0, k.n_out), "zero rows")
with open(MODEL) as f:
    check(same_bits(evoc.Kernel(f.read(), use_cache=False, threads=2).run(x), expected), "Kernel from text IR")
for bad in (x[:, :2], x[0]):
    try:
        k.run(bad)
        check(False, f"shape {bad.shape} raises")
    except ValueError as e:
        check("columns" in str(e), f"shape {bad.shape} raises: {e}")
try:
    evoc.Kernel(os.path.join(tmp.name, "missing.evir"))
    check(False, "a missing model file raises")
except evoc.Error as e:
    check("missing.evir" in str(e), f"a missing model file raises evoc.Error: {e}")
try:
    evoc.Kernel(MODEL, no_such_option=1)
    check(False, "an unknown option raises")
except TypeError as e:
    check("no_such_option" in str(e), f"an unknown option raises: {e}")

p = k.predict_proba(x)
check(p.shape == (x.shape[0], 3) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5), "predict_proba rows sum to 1")
check(np.array_equal(k.predict(x), np.argmax(expected, axis=1)), "predict is the argmax of the logits")
kp = evoc.Kernel(MODEL, use_cache=False, output="probabilities")
check(same_bits(kp.run(x), p), "output='probabilities' equals predict_proba")
check(not torch_loaded(), "import evoc and scoring rows did not load LibTorch")

header = os.path.join(tmp.name, "iris.h")
evoc.compile(MODEL, emit="header", output=header, name="iris")
with open(header) as f:
    check("IRIS_N_IN" in f.read(), "evoc.compile(emit='header') writes the header")
so = evoc.compile(MODEL, emit="so")
check(isinstance(so, bytes) and so[:4] == b"\x7fELF", "evoc.compile(emit='so') returns a shared object")

# --- training ------------------------------------------------------------------------------
if HAVE_TRAINER and DATA:
    iris = os.path.join(DATA, "iris.csv")
    small = dict(epochs=3, max_ops=4, pool=4, batch=32, lr=0.05)
    text, summary = evoc.train(iris, **small)
    check(text.startswith("evir") and summary["metric"] == "accuracy" and summary["epochs"] == 3,
          f"evoc.train on a CSV: {summary['metric']} {summary['test_metric']:.3f}")
    check(torch_loaded(), "the trainer loaded LibTorch (in its own module)")
    try:
        evoc.train(iris, epochs=1, no_such_option=2)
        check(False, "an unknown trainer option raises")
    except TypeError as e:
        check("no_such_option" in str(e), f"an unknown trainer option raises: {e}")

    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    _, table = read_csv(iris)
    X, y = table[:, :-1], np.array(["abc"[int(c)] for c in table[:, -1]])  # string labels
    clf = evoc.EvolvedClassifier(**small)
    check(clone(clf).get_params()["epochs"] == 3, "get_params/clone")
    scores = cross_val_score(clf, X, y, cv=3)
    check(len(scores) == 3 and scores.mean() > 0.6, f"EvolvedClassifier in cross_val_score: {np.round(scores, 3)}")
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    check(proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5),
          "EvolvedClassifier.predict_proba rows sum to 1")
    check(set(clf.predict(X)) <= set("abc"), "EvolvedClassifier.predict returns the labels")

    _, conc = read_csv(os.path.join(DATA, "concrete.csv"))
    reg = evoc.EvolvedRegressor(**small).fit(conc[:300, :-1], conc[:300, -1])
    check(reg.predict(conc[:10, :-1]).shape == (10,), f"EvolvedRegressor fit/predict (R^2 {reg.score(conc[:300, :-1], conc[:300, -1]):.3f})")
else:
    print("trainer or data sets not available: training checks not run")

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("PASS")
