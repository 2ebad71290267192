"""The training benchmark's page: `docs/benchmarks/train.md` from raw measurements.

This module owns turning `bench_train.py`'s measurements into markdown: the
training, spread, FLOP/s, headroom, conv step, contractive, memory and
inference tables, the bars with their verdicts (`write_report` returns them),
the advice and analysis that read the numbers, and raw files read back and
merged for `--from-raw` (`read_raw`). Standard library only.
"""

import json
import math
import statistics
from pathlib import Path

from bench.contenders import (
    BATCH_SIZES,
    CEILING_N,
    CONTENDER_TITLES,
    MODEL_TITLES,
    NOISY_MODELS,
    PROBE_LAYERS,
    PYTHAE_MODELS,
    dense_step_flops,
)


def median_rate(rounds):
    if not rounds or "samples" not in rounds[0]:
        return float("nan")
    return statistics.median(r["samples"] / r["seconds"] for r in rounds)


def median_step_ms(rounds):
    return 1e3 * statistics.median(r["seconds"] / r["steps"] for r in rounds)


def _fmt(v, digits=0):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:,.{digits}f}"


def _ratio(a, b):
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return None
    return a / b


def _fr(r):
    return "—" if r is None else f"{r:.2f}x"


def fresh_sections(spread, wholefit, bars):
    """The per-process spread and whole-fit tables (markdown lines); appends their bars."""
    out = []
    add = out.append

    def steady(reports):
        return [r["steady"] for r in reports if r.get("steady")]

    def whole(reports, epochs):
        times = [
            r["epoch_end_seconds"][epochs - 1]
            for r in reports
            if len(r["epoch_end_seconds"]) >= epochs
        ]
        return statistics.median(times) if times else None

    if spread:
        any_reports = next(iter(next(iter(spread.values())).values()))
        procs, epochs = len(any_reports), len(any_reports[0]["epoch_end_seconds"])
        add("## Per process: the speed a user gets")
        add("")
        add(
            f"Each contender trained a fresh model in {procs} fresh processes per batch size "
            f"(`fit` for {epochs} epochs on all 60,000 images, shuffled; the processes of all "
            "contenders alternate in a rotating order). Steady samples/s are over epochs 2-4 "
            "(the first holds tracing and compiling). *min / plain* divides a contender's "
            "slowest process by the median plain Keras process: what the unluckiest user of "
            "that contender sees against a typical plain Keras user. In brackets, where "
            "recorded: the CPU seconds per second the process used over those epochs (2.0: "
            "both cores); a process that got one core while another job held the other is "
            "slow whatever its framework ([threads.md](threads.md))."
        )
        add("")
        add("Steady samples/s, median (min–max) over the processes:")
        add("")
        names = list(dict.fromkeys(c for contenders in spread.values() for c in contenders))
        add("| model | batch | " + " | ".join(CONTENDER_TITLES[c] for c in names) + " |")
        add("|---|---:|" + "---:|" * len(names))
        for key, contenders in spread.items():
            model, batch = key.split("/")
            cells = []
            for c in names:
                rates = steady(contenders.get(c, []))
                cells.append(
                    f"{_fmt(statistics.median(rates))} ({_fmt(min(rates))}–{_fmt(max(rates))})"
                    if rates
                    else "—"
                )
            add(f"| {MODEL_TITLES[model]} | {batch} | " + " | ".join(cells) + " |")
        add("")
        add("Each process, and the slowest one's ratio to plain Keras's median process:")
        add("")
        add(
            "| model | batch | contender | each process | min | median | max | max/min "
            "| min / plain median |"
        )
        add("|---|---:|---|---|---:|---:|---:|---:|---:|")
        for key, contenders in spread.items():
            model, batch = key.split("/")
            plain = steady(contenders.get("plain", []))
            plain_med = statistics.median(plain) if plain else None
            for c, reports in contenders.items():
                rates = steady(reports)
                if not rates:
                    continue
                lo, med, hi = min(rates), statistics.median(rates), max(rates)
                add(
                    f"| {MODEL_TITLES[model]} | {batch} | {CONTENDER_TITLES[c]} | "
                    + " / ".join(
                        _fmt(r["steady"])
                        + (f" ({r['cpu_per_wall']:.2f})" if r.get("cpu_per_wall") else "")
                        for r in reports
                        if r.get("steady")
                    )
                    + f" | {_fmt(lo)} | {_fmt(med)} | {_fmt(hi)} | {hi / lo:.2f} | "
                    f"{_fr(_ratio(lo, plain_med))} |"
                )
                if c == "keras_ae":
                    r = _ratio(lo, plain_med)
                    bars.append(
                        (
                            f"{model} b{batch}: keras_ae's slowest process >= 1.2x the median "
                            "plain Keras process",
                            _fr(r),
                            r is not None and r >= 1.2,
                        )
                    )
                    bars.append(
                        (
                            f"{model} b{batch}: keras_ae max/min over processes <= 1.25",
                            f"{hi / lo:.2f}",
                            hi / lo <= 1.25,
                        )
                    )
        add("")
        add("## Whole fit from a fresh model, compile included")
        add("")
        add(
            "Seconds from building the model (after the imports and the data load, which "
            "every contender pays alike) to the end of epoch 1 and epoch 4 of the fits above, "
            "median over processes; the model's construction, `compile`, tracing and XLA "
            "compiling (or PyTorch's first-call costs) are inside. *first-epoch overhead* is "
            "epoch 1's time minus a steady epoch's: what building and compiling cost. "
            "*speed-up* divides the other contender's 4-epoch time by keras_ae's."
        )
        add("")
        add(
            "| model | batch | contender | 1 epoch s | 4 epochs s | first-epoch overhead s "
            "| keras_ae speed-up, 4 epochs |"
        )
        add("|---|---:|---|---:|---:|---:|---:|")
        for key, contenders in spread.items():
            model, batch = key.split("/")
            k4 = whole(contenders.get("keras_ae", []), 4)
            for c, reports in contenders.items():
                if not reports:
                    continue
                t1, t4 = whole(reports, 1), whole(reports, 4)
                rates = steady(reports)
                epoch_s = reports[0].get("n", 60000) / statistics.median(rates) if rates else None
                over = t1 - epoch_s if t1 is not None and epoch_s else None
                add(
                    f"| {MODEL_TITLES[model]} | {batch} | {CONTENDER_TITLES[c]} | "
                    f"{_fmt(t1, 1)} | {_fmt(t4, 1)} | {_fmt(over, 1)} | "
                    f"{'—' if c == 'keras_ae' else _fr(_ratio(t4, k4))} |"
                )
            for c, bar in (("plain", 1.25), ("pythae_loop", 1.1)):
                r = _ratio(whole(contenders.get(c, []), 4), k4)
                if c in contenders:
                    bars.append(
                        (
                            f"{model} b{batch}: whole 4-epoch fit, keras_ae >= {bar}x "
                            f"{CONTENDER_TITLES[c]}",
                            _fr(r),
                            None if r is None else r >= bar,
                        )
                    )
        add("")
    if wholefit:
        any_reports = next(iter(next(iter(wholefit.values())).values()))
        epochs = len(any_reports[0]["epoch_end_seconds"])
        add(f"### {epochs} epochs")
        add("")
        add(
            f"One `fit` for {epochs} epochs from a fresh model, {len(any_reports)} fresh "
            "process(es) per contender (median), seconds to the end of epochs 1, 4 and "
            f"{epochs}, model construction and compiling included."
        )
        add("")
        add(
            f"| model | batch | contender | 1 epoch s | 4 epochs s | {epochs} epochs s "
            f"| keras_ae speed-up, {epochs} epochs |"
        )
        add("|---|---:|---|---:|---:|---:|---:|")
        for key, contenders in wholefit.items():
            model, batch = key.split("/")
            kn = whole(contenders.get("keras_ae", []), epochs)
            for c, reports in contenders.items():
                tn = whole(reports, epochs)
                add(
                    f"| {MODEL_TITLES[model]} | {batch} | {CONTENDER_TITLES[c]} | "
                    f"{_fmt(whole(reports, 1), 1)} | {_fmt(whole(reports, 4), 1)} | "
                    f"{_fmt(tn, 1)} | {'—' if c == 'keras_ae' else _fr(_ratio(tn, kn))} |"
                )
        add("")
    return out


def write_report(path, res, inf, meta, spread=None, wholefit=None):
    lines = []
    add = lines.append
    bars = []  # (bar, value, met)

    def rate(model, contender, batch):
        rounds = res[model]["batches"][batch]["rounds"].get(contender)
        return median_rate(rounds) if rounds else None

    add("# Training and inference speed: keras_ae vs plain Keras vs pythae")
    add("")
    command = meta.get("command") or "scripts/bench_train.py"
    rounds_text = (
        "In the tables from *Training samples/s* on, every contender runs in its own "
        "process; each warmed up alone (one epoch, cut after "
        f"{meta['warmup_seconds']:g} s, plus the epoch's short last batch), then "
        f"{meta['rounds']} timed rounds of about {meta['round_seconds']:g} s per contender, "
        "round-robin in a rotating order, one contender running at a time; medians over rounds. "
        if res
        else ""
    )
    add(
        f"Generated by `{command}` on {meta['date']}"
        f"{' (**--quick**: tiny rounds, numbers not meaningful)' if meta['quick'] else ''}. "
        "Real MNIST (60,000 training images scaled to [0, 1]), Adam. "
        + rounds_text
        + "The machine is shared: compare the ratios within this run, not absolute figures "
        "across runs."
    )
    add("")
    add(
        f"Machine: {meta['machine']}. {meta['versions']}. "
        f"Load average (1, 5, 15 min) at start {meta['load_start']}, at end {meta['load_end']}"
        f"{'; ' + meta['busy'] if meta['busy'] else ''}. Run took {meta['minutes']:.1f} min."
    )
    add("")
    for note in meta.get("notes", ()):  # e.g. rows merged in from a later --raw run
        add(note)
        add("")

    lines += fresh_sections(spread or {}, wholefit or {}, bars)

    rounds_start = len(lines)  # what follows, up to inference, needs rounds (`res`)

    # ---- training table
    add("## Training samples/s")
    add("")
    add(
        "| model | batch | plain Keras `fit` | keras_ae | keras_ae XLA | pythae | "
        "keras_ae / plain | XLA / plain | keras_ae / pythae | XLA / pythae |"
    )
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for model in res:
        for batch in BATCH_SIZES:
            p, k, kx = (rate(model, c, batch) for c in ("plain", "keras_ae", "keras_ae_xla"))
            py = rate(model, "pythae", batch)
            missing = "not installed" if model in PYTHAE_MODELS else "no such model"
            add(
                f"| {MODEL_TITLES[model]} | {batch} | {_fmt(p)} | {_fmt(k)} | {_fmt(kx)} | "
                f"{_fmt(py) if py else missing} | "
                f"{_fr(_ratio(k, p))} | {_fr(_ratio(kx, p))} | {_fr(_ratio(k, py))} | "
                f"{_fr(_ratio(kx, py))} |"
            )
            bars.append(
                (
                    f"{model} b{batch}: keras_ae defaults >= 1.0x plain Keras",
                    _fr(_ratio(k, p)),
                    _ratio(k, p) is not None and _ratio(k, p) >= 1.0,
                )
            )
            if model in ("dense", "vae"):
                bars.append(
                    (
                        f"{model} b{batch}: keras_ae XLA >= 1.3x plain Keras",
                        _fr(_ratio(kx, p)),
                        _ratio(kx, p) is not None and _ratio(kx, p) >= 1.3,
                    )
                )
            if py:
                best = max(k, kx)
                bars.append(
                    (
                        f"{model} b{batch}: keras_ae >= pythae (defaults; XLA)",
                        f"{_fr(_ratio(k, py))}; {_fr(_ratio(kx, py))}",
                        _ratio(k, py) >= 1.0,
                    )
                )
    add("")
    add("Spread over rounds (min–max samples/s) and the steps per round:")
    add("")
    add("| model | batch | contender | min | median | max | steps/round | last loss |")
    add("|---|---:|---|---:|---:|---:|---:|---:|")
    for model in res:
        for batch in BATCH_SIZES:
            for c, rounds in res[model]["batches"][batch]["rounds"].items():
                if not rounds or "samples" not in rounds[0]:
                    continue
                rates = [r["samples"] / r["seconds"] for r in rounds]
                add(
                    f"| {model} | {batch} | {CONTENDER_TITLES[c]} | {_fmt(min(rates))} | "
                    f"{_fmt(statistics.median(rates))} | {_fmt(max(rates))} | "
                    f"{rounds[0]['steps']} | {rounds[-1]['loss']:.4g} |"
                )
    add("")

    # ---- FLOP/s
    if "dense" in res:
        add("## Dense AE: achieved FLOP/s against the matmul ceiling")
        add("")
        add(
            f"Matmul FLOPs of one training step: forward 2·b·m·n per layer, backward the weight "
            f"gradient of every layer and the input gradient of all but the first, "
            f"{dense_step_flops(1) / 1e6:.2f} MFLOP per sample (bias, activations, loss and Adam "
            "not "
            f"counted). Ceiling: `tf.linalg.matmul` of two {CEILING_N}x{CEILING_N} float32 "
            "matrices in a `tf.function`, timed in the same rounds. Profile probes: *matmuls "
            "only* runs just the step's 6 forward + 11 backward matmuls at the AE's shapes "
            "(no activations, no optimizer), also compiled by XLA, which shows whether XLA's "
            "CPU matmuls keep up with TensorFlow's oneDNN kernels; *bare step* is keras_ae's "
            "`compute_losses` + "
            "`GradientTape` + Adam in one `tf.function` on a fixed batch (no `fit`, no input "
            "pipeline)."
        )
        add("")
        add("| batch | what | step ms | GFLOP/s | % of ceiling |")
        add("|---:|---|---:|---:|---:|")
        flop_pct = {}
        for batch in BATCH_SIZES:
            b = res["dense"]["batches"][batch]["rounds"]
            probe = b.get("probe") or []
            ceil_s = statistics.median(r["probe_seconds"]["ceiling"] for r in probe)
            ceil = 2 * CEILING_N**3 / ceil_s
            step_flops = dense_step_flops(batch)
            rows = [(f"ceiling: {CEILING_N}² matmul", ceil_s * 1e3, ceil)]
            for name, title in (
                ("chain", "matmuls only, AE shapes"),
                ("chain_xla", "matmuls only, AE shapes, XLA"),
                ("bare_step", "bare step (no `fit`)"),
                ("bare_step_xla", "bare step, XLA"),
            ):
                s = statistics.median(r["probe_seconds"][name] for r in probe)
                rows.append((title, s * 1e3, step_flops / s))
                flop_pct[(batch, name)] = step_flops / s / ceil
            for c in ("plain", "keras_ae", "keras_ae_xla"):
                rate_ = rate("dense", c, batch)
                s = batch / rate_
                rows.append((CONTENDER_TITLES[c], s * 1e3, step_flops / s))
                flop_pct[(batch, c)] = step_flops / s / ceil
            for title, ms, flops in rows:
                add(
                    f"| {batch} | {title} | {ms:.2f} | {flops / 1e9:.1f} | "
                    f"{100 * flops / ceil:.0f}% |"
                )
        add("")
        best = max(flop_pct[(256, "keras_ae")], flop_pct[(256, "keras_ae_xla")])
        # A "ceiling" slower than the AE's own small matmuls is no ceiling:
        # the big matmul was disturbed (shared cores), and the bar is undecided.
        valid = all(flop_pct[(b, "chain")] <= 1.0 for b in BATCH_SIZES)
        meta["ceiling_valid"] = valid
        bars.append(
            (
                "dense b256: training step >= 50% of the matmul ceiling (defaults; XLA)",
                (
                    f"{100 * flop_pct[(256, 'keras_ae')]:.0f}%; "
                    f"{100 * flop_pct[(256, 'keras_ae_xla')]:.0f}%"
                ),
                (best >= 0.5) if valid else None,
            )
        )
        meta["flop_pct"] = flop_pct

    # ---- headroom: what any compiler could gain over plain Keras
    probed = [
        m
        for m in res
        if m in PROBE_LAYERS
        and all(res[m]["batches"][b]["rounds"].get("probe") for b in BATCH_SIZES)
    ]
    if probed:
        add("## Where the step time goes: how much any compiler could gain")
        add("")
        add(
            "A compiler (XLA) can fuse and remove the elementwise work, Adam's update and the "
            "per-op dispatch, but not the matmuls. So the fastest possible step is the *matmuls "
            "only* probe at the faster of TensorFlow's and XLA's matmul speed, and plain Keras "
            "step / that time bounds the speedup that compiling plain Keras's model can reach "
            "on this CPU. What `fit` adds around a compiled step (input pipeline, callbacks, "
            "the call itself) is *fit's share*: keras_ae `fit` with XLA minus the bare XLA "
            "step, with keras_ae's default 8 batches per compiled call and with Keras's 1 "
            "(`steps_per_execution`). Step times in ms (medians); `fit` rows from the "
            "training rounds above."
        )
        add("")
        add(
            "| model | batch | matmuls only | matmuls only, XLA | bare step | bare step, XLA | "
            "plain Keras `fit` | keras_ae `fit`, no XLA | keras_ae `fit`, XLA | XLA / plain "
            "| bound: plain / matmuls | fit's share | fit's share, 1 batch per call |"
        )
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        headroom = {}
        for model in probed:
            for batch in BATCH_SIZES:
                rounds = res[model]["batches"][batch]["rounds"]
                probe = {
                    k: 1e3 * statistics.median(r["probe_seconds"][k] for r in rounds["probe"])
                    for k in ("chain", "chain_xla", "bare_step", "bare_step_xla")
                }
                fit_ms = {
                    c: 1e3 * batch / rate(model, c, batch)
                    for c in ("plain", "keras_ae_nojit", "keras_ae_xla", "keras_ae_xla_spe1")
                    if rate(model, c, batch)
                }
                floor = min(probe["chain"], probe["chain_xla"])
                bound = fit_ms["plain"] / floor
                gain = fit_ms["plain"] / fit_ms["keras_ae_xla"]
                left = (
                    probe["bare_step_xla"] - floor,
                    fit_ms["keras_ae_xla"] - probe["bare_step_xla"],
                )
                headroom[(model, batch)] = (gain, bound, left)
                add(
                    f"| {MODEL_TITLES[model]} | {batch} | {probe['chain']:.2f} | "
                    f"{probe['chain_xla']:.2f} | {probe['bare_step']:.2f} | "
                    f"{probe['bare_step_xla']:.2f} | {fit_ms['plain']:.2f} | "
                    f"{fit_ms.get('keras_ae_nojit', float('nan')):.2f} | "
                    f"{fit_ms['keras_ae_xla']:.2f} | {gain:.2f}x | {bound:.2f}x | "
                    f"{left[1]:.2f} | "
                    f"{fit_ms.get('keras_ae_xla_spe1', float('nan')) - probe['bare_step_xla']:.2f}"
                    " |"
                )
        add("")
        for (model, batch), (gain, bound, (in_step, in_fit)) in headroom.items():
            if gain >= 1.3:
                continue
            if bound < 1.3:
                add(
                    f"- {model} b{batch}: XLA >= 1.3x plain Keras is out of reach on this CPU: "
                    f"even a step that did nothing but its matmuls would be {bound:.2f}x plain "
                    f"Keras; XLA gets {gain:.2f}x, i.e. {100 * (gain - 1) / (bound - 1):.0f}% of "
                    "the possible gain. Only faster matmuls would move it: larger batches "
                    "(better-shaped operands), or bfloat16 on CPUs with AMX / AVX512-BF16."
                )
            else:
                left_in_step = (
                    f"{in_step:.2f} ms per step is work XLA leaves in the compiled "
                    "step (elementwise, Adam, random draws)"
                    if in_step >= 0.1
                    else "none is left in the compiled step"
                )
                add(
                    f"- {model} b{batch}: XLA gets {gain:.2f}x of a possible {bound:.2f}x. Of "
                    f"the time above the matmuls-only floor, {left_in_step}, and "
                    f"{in_fit:.2f} ms is fit's share (outside any compiled step)."
                )
        stuck = [
            m
            for m in probed
            if all(headroom[(m, b)][2][0] >= 0.1 and headroom[(m, b)][0] < 1.3 for b in BATCH_SIZES)
        ]
        for model in stuck:
            add(
                f"- {model}: the bare step is the place to look, not `fit`: XLA leaves "
                + " / ".join(f"{headroom[(model, b)][2][0]:.2f}" for b in BATCH_SIZES)
                + " ms per step above the matmuls at batch "
                + " / ".join(map(str, BATCH_SIZES))
                + ". "
                + (
                    "Random draws were most of it before keras_ae named Philox for "
                    "them (`keras.random`'s unnamed algorithm compiles to a slow "
                    "generator under XLA: `docs/benchmarks/rng.md`); what is left"
                    if model in NOISY_MODELS
                    else "This model draws no random numbers; what it is"
                )
                + " needs an op-level profile (`tf.profiler`), which "
                "this script does not take."
            )
        add("")

    # ---- conv: the custom train_step against Keras's, same process
    conv_probe = "conv" in res and all(
        res["conv"]["batches"][b]["rounds"].get("probe") for b in BATCH_SIZES
    )
    if conv_probe:
        add("## Conv AE: keras_ae's `train_step` against Keras's, in one process")
        add("")
        add(
            "`fit` rates above come from separate processes, and this machine's speed shifts "
            "between them. Here the conv AE's compiled `train_step` (keras_ae's, no XLA: the "
            "conv default) and plain Keras's (`Model.train_step` of the functional model above, "
            "same layers, MSE) run as `tf.function`s on one fixed batch in one process, "
            "alternating A-B-B-A within every round; no `fit`, no input pipeline. Both graphs "
            "hold the same layers at the same shapes, except that keras_ae's decoder computes "
            "its 32 -> 1 output convolution as the equivalent transposed convolution "
            "(`keras_ae.networks.layers.Conv2D`; layer by layer in `conv_layers.md`). ms per "
            "step: median over rounds (min-max)."
        )
        add("")
        add(
            "| batch | plain Keras `train_step` | keras_ae `train_step` | keras_ae / plain time | "
            "`fit` rates: keras_ae / plain |"
        )
        add("|---:|---:|---:|---:|---:|")
        for batch in BATCH_SIZES:
            rounds = res["conv"]["batches"][batch]["rounds"]["probe"]
            ms = {
                k: [1e3 * r["probe_seconds"][k] for r in rounds]
                for k in ("plain_step", "keras_ae_step")
            }
            med = {k: statistics.median(v) for k, v in ms.items()}
            add(
                f"| {batch} | "
                + " | ".join(
                    f"{med[k]:.1f} ({min(ms[k]):.1f}-{max(ms[k]):.1f})"
                    for k in ("plain_step", "keras_ae_step")
                )
                + f" | {med['keras_ae_step'] / med['plain_step']:.2f}x | "
                f"{_fr(_ratio(rate('conv', 'keras_ae', batch), rate('conv', 'plain', batch)))} |"
            )
        add("")

    # ---- contractive
    if "contractive" in res:
        add("## Contractive penalty cost")
        add("")
        add(
            "Step time of `ContractiveAutoencoder(784, 30)` (closed-form Jacobian penalty) against "
            'the plain `Autoencoder(784, 30, latent_activation="sigmoid")` of the same shape, '
            "both keras_ae, same rounds."
        )
        add("")
        add("| batch | compile | plain AE ms/step | contractive ms/step | ratio |")
        add("|---:|---|---:|---:|---:|")
        for batch in BATCH_SIZES:
            b = res["contractive"]["batches"][batch]["rounds"]
            for base, cae, title in (
                ("base_ae_nojit", "keras_ae_nojit", "no XLA"),
                ("base_ae_xla", "keras_ae_xla", "XLA"),
            ):
                s_base, s_cae = median_step_ms(b[base]), median_step_ms(b[cae])
                add(f"| {batch} | {title} | {s_base:.2f} | {s_cae:.2f} | {s_cae / s_base:.2f}x |")
                if title == "no XLA":
                    bars.append(
                        (
                            f"contractive b{batch}: step <= 2x plain AE step",
                            f"{s_cae / s_base:.2f}x",
                            s_cae / s_base <= 2.0,
                        )
                    )
        add("")

    # ---- memory
    add("## Peak resident memory (MB)")
    add("")
    add(
        "`ru_maxrss` of each contender's own process, over both batch sizes (the data set "
        "as float32 is 188 MB of it)."
    )
    add("")
    all_c = [c for c in CONTENDER_TITLES if any(c in res[m]["info"] for m in res)]
    add("| model | " + " | ".join(CONTENDER_TITLES.get(c, c) for c in all_c) + " |")
    add("|---|" + "---:|" * len(all_c))
    peak = 0.0
    for model in res:
        cells = []
        for c in all_c:
            v = res[model]["batches"][BATCH_SIZES[-1]]["rss"].get(c)
            cells.append(_fmt(v))
            if v:
                peak = max(peak, v)
        add(f"| {model} | " + " | ".join(cells) + " |")
    add("")
    if res:
        bars.append(("peak memory of any training run < 3 GB", f"{peak:,.0f} MB", peak < 3072))

    if not res:
        del lines[rounds_start:]

    # ---- inference
    if inf:
        add("## Inference")
        add("")
        add(
            "Whole MNIST test set (10,000 images), and batch-1 latency (median of "
            f"{meta['latency_reps']} calls per round), medians over {meta['rounds']} rounds. "
            "*predict*: `model.predict(x)` (default batch 32); *predict 1024*: "
            "`predict(x, batch_size=1024)`; *call*: `model(t)` / `model.encoder(t)`, eager, on "
            "tensors of 1,024 images (then `.numpy()`); *keras_ae*: `model.reconstruct(x)` / "
            "`model.encode(x)` "
            "(numpy in and out, a cached `tf.function` over batches of 1024); *serve*: "
            "`tf.function(lambda t: model(t), input_signature=[TensorSpec((None, ...))])` on the "
            "same 1,024-image tensors."
        )
        add("")
        add("| model | task | way | samples/s (10,000) | batch-1 latency ms |")
        add("|---|---|---|---:|---:|")
        names = {
            "predict": "predict",
            "predict_1024": "predict 1024",
            "call": "call",
            "keras_ae": "keras_ae",
            "serve": "serve (`tf.function`)",
        }
        for model, r in inf.items():
            for key, v in r["median"].items():
                task, way = key.split("/")
                add(
                    f"| {model} | {task} | {names[way]} | {_fmt(v['throughput'])} | "
                    f"{v['latency_ms']:.3f} |"
                )
        add("")
        add(inference_advice(inf))
        add("")

    # ---- bars
    add("## Bars")
    add("")
    add("| bar | measured | |")
    add("|---|---:|---|")
    for bar, value, met in bars:
        verdict = "**not decided** (see below)" if met is None else "met" if met else "**missed**"
        add(f"| {bar} | {value} | {verdict} |")
    add("")
    if res:
        add(analysis(res, meta, bars))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text("\n".join(lines) + "\n")
    return bars


def inference_advice(inf):
    """Which way to use when, from the measured numbers."""
    out = ["Which to use when (from the numbers above):", ""]
    for model, r in inf.items():
        m = r["median"]
        for task in ("reconstruct", "encode"):
            ways = {k.split("/")[1]: v for k, v in m.items() if k.startswith(task + "/")}
            fast = max(ways, key=lambda w: ways[w]["throughput"])
            quick = min(ways, key=lambda w: ways[w]["latency_ms"])
            out.append(
                f"- {model} {task}: most samples/s on the test set by *{fast}* "
                f"({ways[fast]['throughput']:,.0f}/s; predict "
                f"{ways['predict']['throughput']:,.0f}/s), "
                f"lowest batch-1 latency by *{quick}* ({ways[quick]['latency_ms']:.3f} ms; "
                f"predict {ways['predict']['latency_ms']:.2f} ms)."
            )
    out += [
        "",
        (
            "- Many samples already in memory (evaluation, encoding a data set): "
            "`model.encode(x)` / `model.reconstruct(x)` (or `predict(x, batch_size=1024)`); "
            "`predict` with its default batch of 32 pays a Python round trip per 32 samples."
        ),
        (
            "- One or a few samples at a time (serving, interactive use): a `tf.function` with "
            "an `input_signature` (what `keras_ae.export` writes into a SavedModel); `predict` "
            "builds an iterator and callbacks on every call and costs milliseconds per call."
        ),
        (
            "- Eager `model(x)` is fine for a one-off call inside other TensorFlow code; in a "
            "loop it pays Python dispatch per layer."
        ),
    ]
    return "\n".join(out)


def analysis(res, meta, bars):
    """What the misses are and what the measurements say about them."""
    missed = [b for b in bars if b[2] is False]
    out = ["## What the numbers say", ""]
    if not missed:
        out.append("Every bar is met in this run.")
    else:
        out.append(
            f"{len(missed)} of {len(bars)} bar checks missed in this run: "
            + "; ".join(f"{b[0]} ({b[1]})" for b in missed)
            + "."
        )
    out.append("")

    def no_xla(rounds):
        """The contender without XLA: keras_ae's defaults unless they use XLA."""
        return rounds.get("keras_ae_nojit") or rounds["keras_ae"]

    gains = {}
    for model in res:
        gains[model] = [
            median_rate(res[model]["batches"][b]["rounds"]["keras_ae_xla"])
            / median_rate(no_xla(res[model]["batches"][b]["rounds"]))
            for b in BATCH_SIZES
        ]
    out.append(
        "XLA against the same keras_ae model without it (`jit_compile=False`, which is "
        'what Keras\'s `"auto"` means on a CPU-only machine): '
        + ", ".join(
            f"{m} b{b} {g:.2f}x"
            for m, gs in gains.items()
            for b, g in zip(BATCH_SIZES, gs, strict=True)
        )
        + "."
    )
    helped = [m for m, g in gains.items() if min(g) >= 1.05]
    hurt = [m for m, g in gains.items() if max(g) <= 0.95]
    on_by_default = [m for m in res if res[m]["info"].get("keras_ae", {}).get("jit_compile")]
    out.append("")
    out.append(
        "XLA helps at both batch sizes (>= 1.05x) for "
        f"{', '.join(helped) or 'no model'}; it hurts at both (<= 0.95x) for "
        f"{', '.join(hurt) or 'no model'}; the rest are within noise or mixed. keras_ae's "
        'defaults use XLA (`keras_ae.training.AUTO_COMPILE` makes `jit_compile="auto"` '
        f"mean XLA on CPU) for: {', '.join(on_by_default) or 'no model'}."
    )
    spe_gains = [
        (
            m,
            b,
            median_rate(res[m]["batches"][b]["rounds"]["keras_ae_xla"])
            / median_rate(res[m]["batches"][b]["rounds"]["keras_ae_xla_spe1"]),
        )
        for m in res
        for b in BATCH_SIZES
        if res[m]["batches"][b]["rounds"].get("keras_ae_xla_spe1")
    ]
    if spe_gains:
        out.append("")
        out.append(
            '8 batches per compiled call (keras_ae\'s `steps_per_execution="auto"` for MLP '
            "networks) against Keras's 1, both with XLA: "
            + ", ".join(f"{m} b{b} {g:.2f}x" for m, b, g in spe_gains)
            + ". Each call of "
            "Keras's train function costs about the same whatever the model (iterator, "
            "callbacks, the call), so it is a share of a fast step's time and hardly shows "
            "in the conv AE's ~100 ms step, which keeps 1."
        )
    out.append("")
    out.append(
        "Per-step difference keras_ae − plain Keras (ms; negative means keras_ae is faster):"
    )
    out.append("")
    out.append("| model | " + " | ".join(f"b{b}" for b in BATCH_SIZES) + " |")
    out.append("|---|" + "---:|" * len(BATCH_SIZES))
    for model in res:
        cells = []
        for b in BATCH_SIZES:
            rounds = res[model]["batches"][b]["rounds"]
            k, p = median_rate(rounds["keras_ae"]), median_rate(rounds["plain"])
            cells.append(f"{1e3 * b * (1 / k - 1 / p):+.2f}")
        out.append(f"| {model} | " + " | ".join(cells) + " |")
    pct = meta.get("flop_pct")
    if pct:
        out.append("")
        out.append(
            "Dense AE FLOP/s at batch 256, as a share of the 2048² matmul ceiling: the step's "
            f"matmuls alone at the AE's shapes reach {100 * pct[(256, 'chain')]:.0f}% "
            f"({100 * pct[(256, 'chain_xla')]:.0f}% compiled by XLA), the bare "
            f"`tf.function` step {100 * pct[(256, 'bare_step')]:.0f}% "
            f"({100 * pct[(256, 'bare_step_xla')]:.0f}% with XLA), keras_ae's `fit` "
            f"{100 * pct[(256, 'keras_ae')]:.0f}% ({100 * pct[(256, 'keras_ae_xla')]:.0f}% with "
            f"XLA), plain Keras {100 * pct[(256, 'plain')]:.0f}%. The gap between the ceiling and "
            "the matmuls-only probe is the cost of the AE's skinny shapes (256-row operands, a "
            "30-wide code layer); between the probe and the bare step, the elementwise work "
            "(bias, relu, sigmoid, loss) and Adam's update of 1.08 M parameters; between the "
            "bare step and `fit`, the per-step cost of `fit` and the input pipeline."
        )
        if not meta.get("ceiling_valid", True):
            out.append("")
            out.append(
                "**The 50%-of-ceiling bar is not decided by this run.** The 2048² matmul "
                "probe ran slower than the AE's own, much smaller matmuls (the percentages above "
                "100%), so it did not measure the CPU's ceiling: a single 0.5 s matmul split "
                "over both cores is the probe most hurt by other jobs sharing those cores. "
                "Against the AVX2/FMA peak of these 2 cores (32 float32 FLOP per cycle per "
                "core, about 128-200 GFLOP/s at 2-3 GHz) the dense step's FLOP/s above is well "
                "under 50%. To decide it: re-run on a quiet machine (`--models dense`), where "
                "the ceiling probe should come out well above the matmuls-only probe."
            )
    return "\n".join(out)


def merge_raw(raw, later):
    """`raw` with `later`'s models in place of its own, and a note on the page
    naming the later run (its command, date, load and length)."""
    models = list(later["res"])
    inference = list(later.get("inf") or ())
    m = later["meta"]
    what = "training, peak memory, probes" + (
        f" and the {', '.join(inference)} inference rows" if inference else ""
    )
    note = (
        f"The {', '.join(models)} rows ({what}) come from a later "
        f"run of the same script, `{m['command']}`, on {m['date']} (load average at start "
        f"{m['load_start']}; {m['minutes']:.1f} min), merged into this run's raw file with "
        "`--from-raw ... --merge ...`; every other row is from the run above."
    )
    fresh = [k for k in ("spread", "wholefit") if later.get(k)]
    if fresh:
        note = (
            f"The {' and '.join(fresh)} tables ({', '.join(k for f in fresh for k in later[f])})"
            f" come from `{m['command']}` on {m['date']} (load average at start "
            f"{m['load_start']}; {m['minutes']:.1f} min)."
            + (f" {note}" if models or inference else "")
        )
    meta = {**raw["meta"], "notes": [*raw["meta"].get("notes", ()), note]}
    return {
        **raw,
        "res": {**raw["res"], **later["res"]},
        "inf": {**raw["inf"], **(later.get("inf") or {})},
        "spread": {**(raw.get("spread") or {}), **(later.get("spread") or {})},
        "wholefit": {**(raw.get("wholefit") or {}), **(later.get("wholefit") or {})},
        "meta": meta,
    }


def _int_keys(result):
    """JSON turned the batch sizes into strings; turn them back."""
    return {**result, "batches": {int(b): v for b, v in result["batches"].items()}}


def read_raw(path, merge=None):
    """`(res, inf, meta, spread, wholefit)` of a `--raw` file, with the rows of
    the later raw files `merge` (comma-separated, when given) in place of its own."""
    raw = json.loads(Path(path).read_text())
    for later in (merge or "").split(","):
        if later:
            raw = merge_raw(raw, json.loads(Path(later).read_text()))
    return (
        {m: _int_keys(r) for m, r in raw["res"].items()},
        raw["inf"],
        raw["meta"],
        raw.get("spread") or {},
        raw.get("wholefit") or {},
    )
