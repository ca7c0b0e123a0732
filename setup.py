"""Install deepclust_sklearn.

torch is pinned to a range that admits the 2.13.0 CPU build: install
``torch==2.13.0`` first on a CPU-only machine so pip does not fetch a
multi-GB CUDA build to satisfy a bare ``torch`` requirement.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = re.search(r'__version__ = "([^"]+)"', (here / "deepclust_sklearn" / "__init__.py").read_text()).group(1)

setup(
    name="deepclust_sklearn",
    version=version,
    description="Deep image clustering (IIC, DAC, DeepCluster) as scikit-learn estimators",
    long_description=(here / "README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["deepclust_sklearn", "deepclust_sklearn.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6,<1.10",
        "torch>=2.1,<2.15",
        "skorch>=1.0,<2",
        "faiss-cpu>=1.7.4",
    ],
    extras_require={
        # hypothesis: the bad-input property suite; pandas: set_output tests;
        # dask[distributed]: the GridSearchCV-on-a-cluster test; matplotlib: plot tests; Pillow: image folders
        "test": [
            "pytest>=7",
            "ruff>=0.6",
            "hypothesis>=6",
            "pandas>=1.5",
            "dask[distributed]>=2023.1",
            "matplotlib>=3.6",
            "Pillow>=9",
        ],
        "plot": ["matplotlib>=3.6"],
        "images": ["Pillow>=9"],
        "dask": ["dask[distributed]>=2023.1"],
    },
    license="BSD-3-Clause",
)
