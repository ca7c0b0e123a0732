"""Scikit-learn style displays for clustering results.

Three display objects follow the pattern of
:class:`sklearn.metrics.ConfusionMatrixDisplay`: the constructor checks and
stores the data to draw, :meth:`plot` draws it with matplotlib (style through
keyword arguments and ``*_kw`` dicts passed on to matplotlib) and keeps the
figure and its artists as attributes ending in ``_``, and the class methods
``from_estimator`` / ``from_predictions`` compute the data and plot it in
one call.

* :class:`ClusterSamplesDisplay` -- a grid of sample images, one row per
  cluster;
* :class:`ClusterConfusionMatrixDisplay` -- true classes against clusters,
  the clusters reordered by the Hungarian matching, titled with the
  clustering accuracy;
* :class:`TrainingCurvesDisplay` -- per-epoch values of a skorch history
  (loss, DeepCluster's k-means objective, DAC's thresholds, ...).

matplotlib is an optional dependency: it is imported only when something is
drawn, and a missing matplotlib gives an :class:`ImportError` that says how
to install it (``pip install "deepclust_sklearn[plot]"``).
"""

from ._confusion_matrix import ClusterConfusionMatrixDisplay
from ._samples import ClusterSamplesDisplay
from ._training_curves import TrainingCurvesDisplay

__all__ = [
    "ClusterConfusionMatrixDisplay",
    "ClusterSamplesDisplay",
    "TrainingCurvesDisplay",
]
