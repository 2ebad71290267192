"""Re-measures every figure of every zoo card on the test split.

Exits with status 1 when a figure differs from its card by more than the
tolerance stored with it, or when an entry or the zoo is over its size limit
(`keras_ae.zoo.entry.MAX_ENTRY_BYTES`, `MAX_ZOO_BYTES`).
`--quick` re-measures only the figures CI re-measures: the full-protocol
log-likelihood (k=5000 importance samples on 10,000 images, tens of CPU
minutes) is then skipped in favour of its recorded subset figure.

Usage:
    python scripts/evaluate_zoo.py [--only NAME[,NAME...]] [--quick] [--data-dir DIR]
    python scripts/evaluate_zoo.py --write-table docs/zoo.md   # the cards' table, no measuring

Example:
    KERAS_AE_DATA_DIR=../shared/data python scripts/evaluate_zoo.py --quick
"""

import argparse
import fnmatch
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from keras_ae import zoo
from keras_ae.cli import evaluate_zoo
from keras_ae.cli.zoo import fmt
from keras_ae.zoo.entry import MAX_ENTRY_BYTES, MAX_ZOO_BYTES, entry_bytes


def check_sizes(names):
    """Prints entries over the size limits; returns how many limits are broken."""
    broken = 0
    for name in names:
        size = entry_bytes(zoo.entry_dir(name))
        if size > MAX_ENTRY_BYTES:
            print(
                f"{name}: {size / 2**20:.2f} MiB, over the "
                f"{MAX_ENTRY_BYTES / 2**20:.0f} MiB entry limit"
            )
            broken += 1
    total = entry_bytes(zoo.zoo_dir())
    print(f"zoo size: {total / 2**20:.2f} MiB (limit {MAX_ZOO_BYTES / 2**20:.0f} MiB)")
    return broken + (total > MAX_ZOO_BYTES)


def table(names):
    """The cards' figures as a Markdown table, one row per entry (nothing is measured)."""
    lines = [HEADER, "|---|---|---|---|"]
    for name in names:
        meta = zoo.info(name)
        figures, bars = [], []
        for m in meta["metrics"]:
            figures.append(f"{m['name']} {fmt(m['value'])}")
            bar = m.get("bar")
            if bar:
                target = f" ({bar['value']:.5g})" if "ref" in bar else ""
                status = "met" if m["met"] else "**missed**"
                bars.append(f"{m['name']}: {bar['text']}{target}: {status}")
        model = f"{meta['variant']}, d={meta['latent_dim']}, {meta['dataset']}"
        lines.append(f"| `{name}` | {model} | {'; '.join(figures)} | {'; '.join(bars)} |")
    return "\n".join(lines)


HEADER = "| entry | model | figures on the test split | bar |"


def table_rows(lines, page):
    """`(start, end)`: the slice of `lines` holding the entries table of
    `page`, from its header line to the last row."""
    if HEADER not in lines:
        raise SystemExit(f"{page} has no entries table: no line {HEADER!r}")
    start = end = lines.index(HEADER)
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return start, end


def write_table(page, names):
    """Replaces the entries table of `page` (the block of rows under its
    header line) with the cards' table; the rest of the page is kept."""
    page = Path(page)
    lines = page.read_text(encoding="utf-8").split("\n")
    start, end = table_rows(lines, page)
    lines[start:end] = table(names).split("\n")
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    os.replace(tmp, page)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated entry names or patterns")
    parser.add_argument(
        "--quick", action="store_true", help="only the figures CI re-measures (subset likelihood)"
    )
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--table", action="store_true", help="print the cards' figures as a Markdown table and exit"
    )
    parser.add_argument(
        "--write-table",
        metavar="PAGE",
        default=None,
        help="rewrite the entries table of PAGE (docs/zoo.md) from the cards and exit",
    )
    args = parser.parse_args(argv)
    names = zoo.list_models()
    if args.only:
        patterns = args.only.split(",")
        names = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
        if not names:
            parser.error(f"--only {args.only!r} matches no entry of {zoo.list_models()}")
    if args.table:
        print(table(names))
        return 0
    if args.write_table:
        write_table(args.write_table, names)
        print(f"wrote the table of {len(names)} entries in {args.write_table}")
        return 0
    status = evaluate_zoo(names, quick=args.quick, data_dir=args.data_dir)
    return 1 if check_sizes(names) else status


if __name__ == "__main__":
    sys.exit(main())
