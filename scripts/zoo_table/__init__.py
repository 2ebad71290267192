"""The zoo's entry table, one module per family of entries.

`scripts/train_zoo.py` trains what this table describes. A family lives in
its own module (`mnist.py`, ...) with an `ENTRIES` list; `ENTRIES` here is
their concatenation in a fixed order, `BY_NAME` the same by entry name.
"""

from zoo_table import cifar, conditional, likelihood, mnist, vq

FAMILIES = (mnist, cifar, vq, conditional, likelihood)
ENTRIES = [spec for family in FAMILIES for spec in family.ENTRIES]
BY_NAME = {e["name"]: e for e in ENTRIES}
if len(BY_NAME) != len(ENTRIES):
    raise ValueError("two zoo entries share a name")
