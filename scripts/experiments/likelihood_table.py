"""The likelihood table of binarized MNIST: the zoo's entries beside the
published ladder of issue 29, with each figure's binarization protocol.

Reads the zoo entries' cards (`zoo/<name>/metadata.json`); trains and
measures nothing. Writes docs/results/likelihood.md.

Usage:
    python scripts/experiments/likelihood_table.py
"""

import json

from _common import REPO, markdown_table, write_result

ENTRIES = ("vae50_mnist", "iwae2_mnist")
DYNAMIC = "dynamic: a fresh Bernoulli draw of the training images each epoch"
PYTHAE = "pythae's binarized MNIST (the quote in issue 29 does not say which)"
#: The published ladder (nats, k=5000 unless said), as issue 29 quotes it.
PUBLISHED = [
    ("Burda et al. 2016, VAE, 1 stochastic layer", -86.76, DYNAMIC),
    ("Burda et al. 2016, VAE, 2 stochastic layers", -85.33, DYNAMIC),
    ("Burda et al. 2016, IWAE k=50, 1 layer", -84.78, DYNAMIC),
    ("Burda et al. 2016, IWAE k=5, 2 layers", -83.89, DYNAMIC),
    ("Burda et al. 2016, IWAE k=50, 2 layers", -82.90, DYNAMIC),
    ("pythae reproduction, VAMP", -85.79, PYTHAE),
    ("pythae reproduction, IWAE (n=50)", -86.82, PYTHAE),
    ("pythae reproduction, MIWAE", -85.09, PYTHAE),
    ("pythae reproduction, PIWAE", -84.58, PYTHAE),
    ("pythae reproduction, CIWAE", -84.74, PYTHAE),
    (
        "nbip/IWAE (TF2), IWAE k=50, 2 layers",
        -82.82,
        "dynamic, as Burda et al. (~1 nat lost without the output bias at the data mean)",
    ),
]


def zoo_rows():
    rows = []
    for name in ENTRIES:
        path = REPO / "zoo" / name / "metadata.json"
        if not path.is_file():
            continue
        meta = json.loads(path.read_text(encoding="utf-8"))
        figures = {m["name"]: m["value"] for m in meta["metrics"]}
        if "test_log_likelihood" not in figures:
            continue
        t = meta["training"]
        rows.append(
            (
                f"[`{name}`](../../zoo/{name}/README.md) (this package), {meta['variant']}",
                figures["test_log_likelihood"],
                figures.get("test_elbo"),
                f"{t['epochs']} epochs, {t['seconds'] / 3600:.1f} h on {t['machine']}",
                "dynamic in training; the 10,000 test images binarized once (seed 123)",
            )
        )
    return rows


def main():
    ours = zoo_rows()
    missing = [n for n in ENTRIES if n not in " ".join(r[0] for r in ours)]
    missing = f" Not in the zoo yet: {', '.join(missing)}." if missing else ""
    rows = [(n, ll, "" if e is None else e, w, b) for n, ll, e, w, b in ours]
    rows += [(n, ll, "", "", b) for n, ll, b in PUBLISHED]
    rows.sort(key=lambda r: -r[1])
    table = markdown_table(
        ["model", "test log p(x), nats", "test ELBO", "training", "binarization"],
        rows,
        floatfmt="{:.2f}",
    )
    body = f"""
Test log-likelihood of binarized MNIST, estimated with k = 5000 importance
samples per image, best first. The zoo's rows come from their cards (all
10,000 test images, `keras_ae.zoo.protocols.log_likelihood`, re-measured on
a subset in CI); the published rows are the papers' tables as issue 29 quotes
them (pythae's from clementchadebec/benchmark_VAE's reproducibility scripts).
The rows' binarization protocols differ (last column), so figures from
different protocols compare only roughly.{missing}

{table}

Regenerate: `python scripts/experiments/likelihood_table.py` (reads the
cards; the entries' training commands are on their cards).
"""
    write_result("likelihood", "The likelihood frontier: binarized MNIST", body)


if __name__ == "__main__":
    main()
