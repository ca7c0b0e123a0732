"""Run every docstring example of the package, and check the public docstrings.

DESIGN.md promises "numpydoc docstrings on every public name with a doctest
that runs on CPU in about a second". This file holds the package to it:

- every doctest of every module (``pkgutil.walk_packages`` over the package,
  so a module added later, or one inside a subpackage such as
  ``plotting/``, is picked up) passes, run
  with ``ELLIPSIS | NORMALIZE_WHITESPACE`` in the module's own namespace, as
  ``doctest.testmod`` would;
- each doctest stays well under a generous time cap (the whole file runs in
  seconds; ``pytest --durations=0`` lists the time of every one);
- every public name in ``__all__`` has examples in its *own* docstring;
- the docstrings have the numpydoc sections a reader expects, in numpydoc's
  order, and document every parameter of the signature. ``numpydoc`` is not
  a dependency, so these checks are a light parser of our own.

A module whose import needs matplotlib is skipped when matplotlib is not
installed (the ``plot`` extra).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import inspect
import pkgutil
import re
import time
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import deepclust_sklearn

torch.set_num_threads(1)  # as tests/conftest.py: tiny nets, possibly busy cores
# The first optimizer built in a process lazily imports torch._dynamo (~2.5 s,
# measured); pay it here so that the per-doctest times are the examples' own.
torch.optim.Adam([torch.zeros(1, requires_grad=True)])

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
PLOT_EXTRA_REASON = 'matplotlib is not installed; pip install "deepclust_sklearn[plot]"'
HAVE_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
# Each doctest should take about a second; this cap only catches an example
# that accidentally trains for real (measured: the slowest takes ~0.5 s).
PER_DOCTEST_SECONDS = 30.0

PUBLIC = [name for name in deepclust_sklearn.__all__ if name != "__version__"]
ESTIMATORS = [
    name
    for name in PUBLIC
    if inspect.isclass(getattr(deepclust_sklearn, name)) and hasattr(getattr(deepclust_sklearn, name), "fit")
]
DEEP_ESTIMATORS = ["IICEstimator", "DACEstimator", "DeepClusterEstimator"]
LOSSES = ["IICLoss", "DACLoss"]

# numpydoc's sections, in the order numpydoc expects them.
NUMPYDOC_ORDER = [
    "Parameters",
    "Attributes",
    "Methods",
    "Returns",
    "Yields",
    "Receives",
    "Other Parameters",
    "Raises",
    "Warns",
    "Warnings",
    "See Also",
    "Notes",
    "References",
    "Examples",
]


def _module_names() -> list[str]:
    package = deepclust_sklearn.__name__
    return sorted(info.name for info in pkgutil.walk_packages(deepclust_sklearn.__path__, prefix=f"{package}."))


def _collect() -> list:
    """One pytest param per doctest with examples.

    Without matplotlib, a module whose import needs it becomes one skipped
    param, and so does each doctest whose examples use matplotlib.
    """
    params = []
    finder = doctest.DocTestFinder(exclude_empty=True)
    for name in _module_names():
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            missing = (getattr(exc, "name", None) or "").split(".")[0]
            if missing == "matplotlib" and not HAVE_MATPLOTLIB:
                skip = pytest.mark.skip(reason=f"{name}: {PLOT_EXTRA_REASON}")
                params.append(pytest.param(None, id=name, marks=skip))
                continue
            raise
        for test in sorted(finder.find(module), key=lambda t: t.name):
            if not test.examples:
                continue
            needs_plot = any("matplotlib" in example.source for example in test.examples)
            marks = [pytest.mark.skip(reason=PLOT_EXTRA_REASON)] if needs_plot and not HAVE_MATPLOTLIB else []
            params.append(pytest.param(test, id=test.name, marks=marks))
    return params


DOCTESTS = _collect()


@pytest.mark.parametrize("test", DOCTESTS)
def test_doctest(test):
    """Each docstring example runs and prints what it says (``pytest --durations=0`` times each)."""
    # a fresh copy in a fresh namespace (the module's globals), as doctest.testmod runs it
    fresh = doctest.DocTest(test.examples, dict(test.globs), test.name, test.filename, test.lineno, test.docstring)
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS, verbose=False)
    report: list[str] = []
    start = time.perf_counter()
    result = runner.run(fresh, out=report.append)
    elapsed = time.perf_counter() - start
    if result.failed and not HAVE_MATPLOTLIB and "matplotlib" in "".join(report):
        pytest.skip(f"{test.name} draws: {PLOT_EXTRA_REASON}")  # an example that plots without naming matplotlib
    assert result.failed == 0, "".join(report)
    assert elapsed < PER_DOCTEST_SECONDS, f"{test.name} took {elapsed:.1f} s; keep examples to about a second."


# ----------------------------------------------------------------- coverage
def _own_examples(name: str) -> list:
    """Examples of the public object's own docstring, found with ``DocTestFinder``.

    Scorers are instances (``make_scorer``); the finder reads their
    ``__doc__`` like any object's.
    """
    obj = getattr(deepclust_sklearn, name)
    tests = doctest.DocTestFinder(recurse=False, exclude_empty=True).find(obj, name, module=False, globs={})
    return [ex for test in tests for ex in test.examples if not ex.options.get(doctest.SKIP, False)]


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_has_examples(name):
    assert _own_examples(name), f"{name}'s docstring has no doctest examples that run (not +SKIP)."


def test_every_public_doctest_is_collected():
    """Each public name's examples are among the doctests run above, under its defining module."""
    collected = {param.values[0].name for param in DOCTESTS if param.values[0] is not None}
    for name in PUBLIC:
        obj = getattr(deepclust_sklearn, name)
        module = getattr(obj, "__module__", None)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            expected = f"{obj.__module__}.{obj.__qualname__}"
        else:  # a scorer instance, registered in its module's __test__
            module = "deepclust_sklearn.metrics"
            expected = f"{module}.__test__.{name}"
        assert expected in collected, f"{name}: no collected doctest named {expected!r}"


# -------------------------------------------------------- numpydoc sections
def _doc(name: str) -> str:
    return inspect.cleandoc(getattr(deepclust_sklearn, name).__doc__ or "")


def _sections(doc: str) -> list[str]:
    """Section headers: a line of text followed by a dashed underline of its length."""
    lines = doc.splitlines()
    headers = []
    for line, underline in zip(lines, lines[1:]):
        if re.fullmatch(r"-{3,}", underline.strip()) and line.strip() and not line.startswith(" "):
            assert len(underline.strip()) == len(line.strip()), f"underline of {line!r} has the wrong length"
            headers.append(line.strip())
    return headers


def _section_body(doc: str, header: str) -> list[str]:
    lines = doc.splitlines()
    start = lines.index(header) + 2
    body = []
    for line, nxt in zip(lines[start:], lines[start + 1 :] + [""]):
        if re.fullmatch(r"-{3,}", nxt.strip()) and line.strip() and not line.startswith(" "):
            break
        body.append(line)
    return body


def _documented_names(doc: str, header: str) -> set[str]:
    """Names listed in a section: unindented ``name : type`` or ``a, b : see ...`` lines."""
    names = set()
    for line in _section_body(doc, header):
        if line and not line.startswith(" "):
            names.update(part.strip() for part in line.split(" : ")[0].split(","))
    return names


def _required_sections(name: str) -> list[str]:
    required = ["Parameters", "Examples"]
    if name in ESTIMATORS:
        required += ["Attributes", "See Also"]
    if name in DEEP_ESTIMATORS or name in LOSSES:
        required += ["References"]
    obj = getattr(deepclust_sklearn, name)
    if inspect.isfunction(obj) or not inspect.isclass(obj):
        required += ["Returns"]
    return required


@pytest.mark.parametrize("name", PUBLIC)
def test_numpydoc_sections(name):
    doc = _doc(name)
    assert doc.splitlines()[0].strip(), f"{name}: the docstring must start with a one-line summary"
    headers = _sections(doc)
    unknown = [h for h in headers if h not in NUMPYDOC_ORDER]
    assert not unknown, f"{name}: sections numpydoc does not know: {unknown}"
    assert len(headers) == len(set(headers)), f"{name}: a section appears twice: {headers}"
    in_order = sorted(headers, key=NUMPYDOC_ORDER.index)
    assert headers == in_order, f"{name}: sections out of numpydoc order: {headers}"
    missing = [h for h in _required_sections(name) if h not in headers]
    assert not missing, f"{name}: missing sections {missing}"


@pytest.mark.parametrize("name", PUBLIC)
def test_parameters_documented(name):
    """Every argument of the constructor or function appears in its Parameters section."""
    obj = getattr(deepclust_sklearn, name)
    if inspect.isclass(obj):
        signature = inspect.signature(obj.__init__)
    elif inspect.isfunction(obj):
        signature = inspect.signature(obj)
    else:  # a scorer instance, called as scorer(estimator, X, y)
        signature = inspect.signature(lambda estimator, X, y: None)
    wanted = {
        p.name
        for p in signature.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    documented = _documented_names(_doc(name), "Parameters")
    assert wanted <= documented, f"{name}: undocumented parameters {sorted(wanted - documented)}"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_fitted_attributes_documented(name):
    """Every public fitted attribute of a tiny fit is listed under Attributes."""
    X, _ = make_blobs(n_samples=40, centers=2, random_state=0)
    cls = getattr(deepclust_sklearn, name)
    params = {"PCAWhitenL2": {"n_components": 2}, "FaissKMeans": {"n_clusters": 2}}.get(
        name, {"n_clusters": 2, "max_epochs": 1, "batch_size": 20}
    )
    if name == "IICEstimator":
        params.update(overcluster=None, n_subheads=1, repeats=1)
    if name == "DeepClusterEstimator":
        params.update(embedding_dim=8)
    est = cls(**params, **({"random_state": 0} if "random_state" in cls().get_params() else {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(np.asarray(X, dtype=np.float64))
    fitted = {k for k in vars(est) if k.endswith("_") and not k.startswith("_")}
    documented = _documented_names(_doc(name), "Attributes")
    assert fitted <= documented, f"{name}: undocumented fitted attributes {sorted(fitted - documented)}"
