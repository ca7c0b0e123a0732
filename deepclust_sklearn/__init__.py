"""deepclust_sklearn: deep image clustering (IIC, DAC, DeepCluster) as scikit-learn estimators."""

from ._score import normalized_score_scorer
from .clustering import FaissKMeans
from .dac import DACEstimator
from .datasets import load_digits_images, load_idx_folder, load_mnist, make_image_blobs, read_idx
from .deepcluster import DeepClusterEstimator
from .iic import IICEstimator
from .image_folder import load_image_folder
from .losses import DACLoss, IICLoss
from .metrics import (
    adjusted_rand_score,
    ari_scorer,
    clustering_accuracy,
    clustering_accuracy_scorer,
    clustering_scores,
    hungarian_match,
    nmi_scorer,
    normalized_mutual_info_score,
)
from .plotting import ClusterConfusionMatrixDisplay, ClusterSamplesDisplay, TrainingCurvesDisplay
from .whitening import PCAWhitenL2

__version__ = "0.1.0"

__all__ = [
    "ClusterConfusionMatrixDisplay",
    "ClusterSamplesDisplay",
    "TrainingCurvesDisplay",
    "DeepClusterEstimator",
    "DACEstimator",
    "DACLoss",
    "FaissKMeans",
    "IICEstimator",
    "IICLoss",
    "PCAWhitenL2",
    "adjusted_rand_score",
    "normalized_score_scorer",
    "ari_scorer",
    "clustering_accuracy",
    "clustering_accuracy_scorer",
    "clustering_scores",
    "hungarian_match",
    "load_digits_images",
    "load_idx_folder",
    "load_image_folder",
    "load_mnist",
    "make_image_blobs",
    "nmi_scorer",
    "normalized_mutual_info_score",
    "read_idx",
    "__version__",
]
