"""Installs keras_ae; the pretrained zoo (top-level zoo/) ships inside the package."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
# Every file of the entries and MANIFEST.json (which pins them); not the
# training script's hidden work folders.
ZOO_FILES = (
    sorted(
        str(p.relative_to(HERE / "zoo"))
        for p in (HERE / "zoo").rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(HERE).parts)
    )
    if (HERE / "zoo").is_dir()
    else []
)

setup(
    name="keras_ae",
    version="0.1.0",
    description="Classic autoencoders as Keras 3 models: training, a pretrained zoo, export.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    # The lower bounds are the oldest versions CI tests (.ci/run's second
    # environment); the newest are what the README's test command installs.
    python_requires=">=3.11",
    packages=find_packages(include=["keras_ae", "keras_ae.*"]) + ["keras_ae._zoo_files"],
    package_dir={"keras_ae._zoo_files": "zoo"},
    package_data={"keras_ae._zoo_files": ZOO_FILES},
    install_requires=[
        "tensorflow>=2.17.0",
        "keras>=3.13.0",
        "tensorflow-datasets",
        "numpy",
        "matplotlib",
        "tensorboard",
        "scikit-learn",
        "ai-edge-litert",
    ],
    extras_require={
        "test": [
            "pytest",
            "pytest-xdist",
            "hypothesis",
            "opencv-python-headless",
            "ruff",
            "huggingface_hub>=0.23",
        ],
        "tasks": ["opencv-python-headless"],
        "hub": ["huggingface_hub>=0.23"],  # hf:// presets and keras-ae zoo push
    },
    entry_points={"console_scripts": ["keras-ae=keras_ae.cli:main"]},
)
