"""evoc from Python: compile evolved-network models and score NumPy rows; train new ones.

    import evoc
    k = evoc.Kernel("wine.evir")              # JIT-compiles the model (or a cache hit)
    y = k.run(x)                               # x: float32 rows (n x k.n_in), strided views too
    p = k.predict_proba(x)                     # classifiers: class probabilities
    evoc.compile("wine.evir", emit="so", output="libwine.so")

    text, summary = evoc.train("wine.csv", epochs=20)        # needs the trainer (LibTorch)
    clf = evoc.EvolvedClassifier(epochs=20).fit(X, y)         # scikit-learn estimator

Scoring never loads LibTorch: the trainer is a separate extension (evoc._trainer), imported the
first time evoc.train or an estimator's fit runs. The estimators import scikit-learn when first
used (evoc.EvolvedClassifier is looked up lazily).
"""
from ._evoc import Error, Kernel, __version__, compile  # noqa: F401

__all__ = ["Error", "Kernel", "compile", "train", "EvolvedClassifier", "EvolvedRegressor", "__version__"]


def _load_trainer():
    from . import _trainer as trainer  # loads LibTorch

    return trainer


def train(data, y=None, *, target="", feature_names=None, target_name="y", name="model", **options):
    """Evolve a network; returns (model text IR, summary dict).

    data: a CSV path (with a header; `target` names the target column, default the last one), or
    a 2-D array of features with `y` the targets. Options are the trainer's, by their `evoc train`
    names with '_' for '-': epochs, lr, batch, max_ops, layers, width, ops ("auto": add,mul to
    classify, add,mul,tanh,relu,square,abs to regress), seed, task ("classify", "regress",
    "auto"), threads, ... (evoc._trainer.option_names()).
    """
    trainer = _load_trainer()
    if isinstance(data, str):
        if y is not None:
            raise TypeError("train: give either a CSV path or arrays (X, y), not both")
        return trainer.train_csv(data, target, options)
    if y is None:
        raise TypeError("train: arrays need targets: train(X, y, ...)")
    import numpy as np

    x = np.ascontiguousarray(data, dtype=np.float32)
    t = np.ascontiguousarray(y, dtype=np.float32)
    return trainer.train_arrays(x, t, list(feature_names or []), target_name, name, options)


def __getattr__(name):
    if name in ("EvolvedClassifier", "EvolvedRegressor"):
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'evoc' has no attribute '{name}'")
