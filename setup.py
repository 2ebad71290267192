"""Installs keras_ae; the pretrained zoo (top-level zoo/) ships inside the package."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
ZOO_FILES = sorted(
    str(p.relative_to(HERE / "zoo")) for p in (HERE / "zoo").rglob("*") if p.is_file()
) if (HERE / "zoo").is_dir() else []

setup(
    name="keras_ae",
    version="0.1.0",
    description="Classic autoencoders as Keras 3 models: training, a pretrained zoo, export.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["keras_ae", "keras_ae.*"]) + ["keras_ae._zoo_files"],
    package_dir={"keras_ae._zoo_files": "zoo"},
    package_data={"keras_ae._zoo_files": ZOO_FILES},
    install_requires=[
        "tensorflow>=2.16",
        "keras>=3.13",
        "tensorflow-datasets",
        "numpy",
        "matplotlib",
        "tensorboard",
        "scikit-learn",
        "ai-edge-litert",
    ],
    extras_require={
        "test": ["pytest", "opencv-python-headless"],
        "tasks": ["opencv-python-headless"],
    },
    entry_points={"console_scripts": ["keras-ae=keras_ae.cli:main"]},
)
