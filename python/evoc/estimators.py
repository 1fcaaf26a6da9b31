"""scikit-learn estimators that evolve a network with evoc's trainer and score with its kernel.

    from sklearn.model_selection import cross_val_score
    scores = cross_val_score(evoc.EvolvedClassifier(epochs=10), X, y, cv=3)

fit trains (evoc.train on the arrays) and compiles the exported model in process; predict and
predict_proba run the compiled kernel. Class labels may be any values np.unique sorts; the
trainer sees their indices. The fitted model's text IR is `model_text_`, its summary `summary_`.
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from . import Kernel, train


class _Evolved(BaseEstimator):
    _task = None

    def __init__(self, epochs=30, lr=0.01, batch=64, max_ops=16, layers=1, width=8, ops="auto",
                 activation="tanh", norm="batch", pool=64, seed=1, threads=1,
                 validation_fraction=0.15, test_fraction=0.15):
        self.epochs = epochs
        self.lr = lr
        self.batch = batch
        self.max_ops = max_ops
        self.layers = layers
        self.width = width
        self.ops = ops
        self.activation = activation
        self.norm = norm
        self.pool = pool
        self.seed = seed
        self.threads = threads
        self.validation_fraction = validation_fraction
        self.test_fraction = test_fraction

    def _fit(self, X, target):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D array of rows, got shape {X.shape}")
        self.n_features_in_ = X.shape[1]
        text, summary = train(X, target, task=self._task, **self.get_params())
        self.model_text_ = text
        self.summary_ = summary
        self.kernel_ = Kernel(text, use_cache=False)
        return self

    def _rows(self, X):
        check_is_fitted(self, "kernel_")
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"expected rows of {self.n_features_in_} features, got shape {X.shape}")
        return X

    # Kernels are compiled code: pickle the model text and compile again on load.
    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("kernel_", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "model_text_" in state:
            self.kernel_ = Kernel(state["model_text_"], use_cache=False)


class EvolvedClassifier(ClassifierMixin, _Evolved):
    """Classifier: the trainer's classify task on the label indices."""

    _task = "classify"

    def fit(self, X, y):
        y = np.asarray(y)
        self.classes_, indices = np.unique(y, return_inverse=True)
        return self._fit(X, indices.astype(np.float32))

    def predict_proba(self, X):
        # Every index 0..len(classes_)-1 occurs in the training targets, so the model has one
        # probability per class (a single logit reads as two classes).
        return self.kernel_.predict_proba(self._rows(X))

    def predict(self, X):
        return self.classes_[self.kernel_.predict(self._rows(X))]


class EvolvedRegressor(RegressorMixin, _Evolved):
    """Regressor: the trainer's regress task; predict returns one value per row."""

    _task = "regress"

    def fit(self, X, y):
        return self._fit(X, np.asarray(y, dtype=np.float32))

    def predict(self, X):
        return self.kernel_.run(self._rows(X))[:, 0]
