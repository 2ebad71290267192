"""The shared pieces of the benchmark scripts in `scripts/`.

`harness` runs contenders in worker processes and times them (standard
library only, so PyTorch workers can import it); `contenders` defines what
`bench_train.py` races, `workers` what runs in each contender's process, and
`report` writes `docs/benchmarks/train.md`. Nothing here is imported at
package import: each script imports the modules it needs.
"""
