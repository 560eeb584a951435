"""The hybrid ES-RNN (models/esrnn.py) on M4 Hourly: trained on the 414 training series, 48-hour forecasts scored
on the test file with M4's sMAPE / MASE / OWA (forecast/m4.py's readers and scores), beside the seasonal naive and
Naive2 forecasts of the same run and the competition's published figures.

    nice -n 10 python benchmarks/esrnn_m4.py --size small            # GATEDRNN_DATA=.../data, OPENBLAS_NUM_THREADS=1
    nice -n 10 python benchmarks/esrnn_m4.py --size small --no-es    # one ablation: windows normalised by their last value
    nice -n 10 python benchmarks/esrnn_m4.py --size small --ablations   # every ablation row in one run and one table

``--size`` picks a budget (tiny: a smoke run of seconds; small: ~2 minutes on one loaded core; full: Smyl's
network size, ~5 minutes); any flag given overrides the size's value. Each series is trained on its last ``--length``
values (every series has at least 700), the per-series smoothing at ``--es-lr`` and the network at ``--lr`` (Adam,
cosine decay over all steps, clipping 1). ``--seeds K`` trains K networks and takes the median of their forecasts.
The table's label carries the budget (epochs, seeds, wall seconds). Fit and predict are timed together.

``--ablations`` trains the model at the chosen settings (one seed), then each ablation with one change at the same
budget: exponential smoothing off, no second season, no dilations (every dilation 1, the same blocks), penalty 0,
and the median of ``--seeds`` networks (default 3; seed 0 is the model row's). It prints one table: each row with its
budget (epochs, seeds, wall seconds), sMAPE, MASE, OWA and the change in OWA against the model row (each seed alone
too, a measure of the noise), then the seasonal naive and Naive2 of the same run and the published figures.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from gatedrnn.forecast.m4 import HORIZON, PUBLISHED, SEASON, cheap_baselines, find_files, format_table, read_wide, score
from gatedrnn.forecast.metrics import owa
from gatedrnn.models.esrnn import ESRNN
from gatedrnn.models.esrnn_loss import ESRNNLoss
from gatedrnn.optim import param_groups
from gatedrnn.optim.schedules import CosineDecay
from gatedrnn.train.console import EpochLines
from gatedrnn.train.trainer import Trainer

# wall time per seed, measured on a shared, loaded 2-core machine under nice, one thread: tiny ~10 s, small ~2 min,
# full ~5 min (40 epochs; 3 seeds 828 s)
# the penalty: full's 100 measured best of 10 / 50 / 100 / 200 (README), small's 10 better than 0
SIZES = {"tiny": dict(hidden_size=16, epochs=4, batch_size=46, length=400, dilations="1,4;24", penalty=10.0),
         "small": dict(hidden_size=32, epochs=20, batch_size=32, length=504, dilations="1,4;24,168", penalty=10.0),
         "full": dict(hidden_size=40, epochs=40, batch_size=32, length=700, dilations="1,4;24,168", penalty=100.0)}


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--hidden-size", type=int)
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--batch-size", type=int)
    ap.add_argument("--length", type=int, help="the last LENGTH values of each series are trained on")
    ap.add_argument("--dilations", help="blocks separated by ';', dilations by ',' (Smyl's hourly: 1,4;24,168)")
    ap.add_argument("--window", type=int, default=SEASON)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--es-lr", type=float, default=3e-2, help="the learning rate of the per-series parameters")
    ap.add_argument("--penalty", type=float, help="Smyl's level-wiggliness penalty (0: off; default: the size's)")
    ap.add_argument("--no-es", action="store_true", help="no smoothing: each window divided by its last value")
    ap.add_argument("--no-season2", action="store_true", help="no weekly (168) season beside the daily one")
    ap.add_argument("--seeds", type=int, help="networks whose median is the forecast (default 1; 3 with --ablations)")
    ap.add_argument("--ablations", action="store_true", help="the model and every ablation in one run, one table")
    ap.add_argument("--series", type=int, default=None, help="the first N series only (a quick look)")
    ap.add_argument("--data-dir")
    ap.add_argument("--tag", help="the row's label in the table (default: the size)")
    args = ap.parse_args(argv)
    for k, v in SIZES[args.size].items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.dilations = tuple(tuple(int(d) for d in b.split(",")) for b in args.dilations.split(";"))
    if args.seeds is None:
        args.seeds = 3 if args.ablations else 1
    clash = ablation_clash(args)
    if clash:
        ap.error(clash)
    return args


def load(args):
    paths = find_files(args.data_dir)
    tr, te = read_wide(paths["train"]), read_wide(paths["test"])
    ids = list(tr)[:args.series]
    return ids, [tr[i] for i in ids], np.stack([te[i] for i in ids])


def fit_one(args, y, ids, seed, echo):
    """One ES-RNN trained on ``y`` (n, length): its forecast (n, 48, 5) and the quantile levels."""
    n = len(y)
    model = ESRNN(n, HORIZON, SEASON, None if args.no_season2 else 168, window=args.window, cell=args.cell,
                  hidden_size=args.hidden_size, dilations=args.dilations, es=not args.no_es, seed=seed,
                  series_names=ids)
    if model.es is not None:
        model.es.initialise(y)
    loss = ESRNNLoss(model.quantiles, 0.0 if args.no_es else args.penalty)
    rates = {} if args.no_es else {"es.": args.es_lr}
    opt = param_groups("adam", model.names, model.params, model.grads, lr=args.lr, rates=rates)
    per_epoch = -(-n // args.batch_size)
    yf = y.astype(model.dtype)

    def batches(epoch):
        order = np.random.default_rng([seed, epoch]).permutation(n)
        return [((yf[order[i:i + args.batch_size]], order[i:i + args.batch_size]), yf[order[i:i + args.batch_size]])
                for i in range(0, n, args.batch_size)]

    trainer = Trainer(model, loss, opt, train_data=batches, carry_state=False, epochs=args.epochs, clip=1.0,
                      schedule=CosineDecay(opt, total_steps=args.epochs * per_epoch), plot=False,
                      callbacks=[EpochLines(echo)], echo=echo)
    trainer.fit()
    fc = np.concatenate([model.forecast(yf[i:i + 64], np.arange(i, min(i + 64, n))) for i in range(0, n, 64)])
    return fc.astype(np.float64), model.levels


def dilation_text(dilations) -> str:
    return ";".join(",".join(str(d) for d in block) for block in dilations)


def ablation_clash(args) -> str:
    """Why ``--ablations`` cannot run from these settings (one of its rows would be the model row), or ''."""
    if not args.ablations:
        return ""
    given = [flag for flag, on in (("--no-es", args.no_es), ("--no-season2", args.no_season2),
                                   ("--penalty 0", args.penalty == 0), ("--seeds 1", args.seeds < 2)) if on]
    if all(d == 1 for block in args.dilations for d in block):
        given.append(f'--dilations "{dilation_text(args.dilations)}"')
    return f"--ablations: expected the model's settings, each ablation a row of its own, got {' '.join(given)}" if given else ""


def ablation_variants(args) -> list:
    """[(label, changed settings)]: the model row first, then one change each at the same budget and seed 0."""
    flat = tuple(tuple(1 for _ in block) for block in args.dilations)
    return [(f"model (penalty {args.penalty:g}, dilations {dilation_text(args.dilations)})", {}),
            ("ES off (--no-es)", {"no_es": True}),
            ("no second season (--no-season2)", {"no_season2": True}),
            (f'no dilations (--dilations "{dilation_text(flat)}")', {"dilations": flat}),
            ("penalty 0 (--penalty 0)", {"penalty": 0.0})]


def forecast_row(label, fcs, levels, train, test, seconds, epochs) -> dict:
    """The scored row of the median of the forecasts ``fcs`` [(n, 48, 5)], with its budget."""
    fc = np.median(np.stack(fcs), axis=0)
    med, lo, hi = (fc[:, :, levels.index(q)] for q in (0.5, 0.025, 0.975))
    return {**score(label, train, list(test), med, lo, hi, seconds), "epochs": epochs, "seeds": len(fcs)}


def ablations(args, y, ids, train, test, echo=print) -> dict:
    """Train the model and each ablation, print one table; returns {"rows", "baselines"} (the scored rows)."""
    cheap = cheap_baselines(train)
    base = [score(name, train, list(test), cheap[name][0], seconds=cheap[name][1]) for name in ("snaive", "naive2")]
    naive2, rows, runs = base[-1], [], []
    for k, (label, change) in enumerate([*ablation_variants(args), *((f"  seed {s} alone", {"seed": s})
                                                                     for s in range(1, args.seeds))]):
        v = argparse.Namespace(**{**vars(args), **change})
        echo(f"row {label.strip()}:")
        t0 = time.perf_counter()
        fc, levels = fit_one(v, y, ids, getattr(v, "seed", 0), lambda line: echo("   " + line))
        runs.append((fc, time.perf_counter() - t0))
        rows.append(forecast_row(label, [fc], levels, train, test, runs[-1][1], args.epochs))
        echo(f"  -> OWA {owa(rows[-1]['smape'], rows[-1]['mase'], naive2['smape'], naive2['mase']):.3f} "
             f"in {runs[-1][1]:.0f} s")
    seeds = [runs[0], *runs[len(rows) - args.seeds + 1:]]
    ens = forecast_row(f"median of {args.seeds} seeds (--seeds {args.seeds})", [fc for fc, _ in seeds], levels,
                       train, test, sum(sec for _, sec in seeds), args.epochs)
    rows.insert(len(rows) - args.seeds + 1, ens)
    echo(ablation_table(rows, base, naive2))
    return {"rows": rows, "baselines": base}


def ablation_table(rows: list, baselines: list, naive2: dict) -> str:
    """One markdown table: each row with its budget, sMAPE, MASE, OWA and its OWA minus the model row's (the first),
    then the baselines of the same run and the published figures (M4, Hourly)."""
    def o(r):
        return owa(r["smape"], r["mase"], naive2["smape"], naive2["mase"])

    ref = o(rows[0])
    lines = ["| row | epochs | seeds | seconds | sMAPE | MASE | OWA | OWA - model's |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['epochs']} | {r['seeds']} | {r['seconds']:.1f} | {r['smape']:.3f} "
                     f"| {r['mase']:.3f} | {o(r):.3f} | {o(r) - ref:+.3f} |")
    for r in baselines:
        lines.append(f"| {r['method']} (this run) | | | {r['seconds']:.1f} | {r['smape']:.3f} | {r['mase']:.3f} "
                     f"| {o(r):.3f} | {o(r) - ref:+.3f} |")
    lines += [f"| published: {k} | | | | {s:.3f} | {m:.3f} | {w:.3f} | {w - ref:+.3f} |" for k, (s, m, w) in PUBLISHED.items()]
    return "\n".join(lines)


def main(argv=None):
    args = parse(argv)
    ids, train, test = load(args)
    y = np.stack([x[-args.length:] for x in train])
    print(f"M4 Hourly: {len(ids)} series, last {args.length} values each; ES-RNN {vars(args)}", flush=True)
    if args.ablations:
        return ablations(args, y, ids, train, test, lambda line: print(line, flush=True))
    t0, c0 = time.perf_counter(), time.process_time()
    runs = [fit_one(args, y, ids, seed, lambda line: print("   " + line, flush=True)) for seed in range(args.seeds)]
    levels = runs[0][1]
    fc = np.median(np.stack([r[0] for r in runs]), axis=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    med, lo, hi = (fc[:, :, levels.index(q)] for q in (0.5, 0.025, 0.975))
    label = f"ES-RNN {args.tag or args.size} {args.epochs}ep x{args.seeds}"
    rows = [score(label, train, list(test), med, lo, hi, wall)]
    cheap = cheap_baselines(train)
    for name in ("snaive", "naive2"):
        rows.append(score(name, train, list(test), cheap[name][0], seconds=cheap[name][1]))
    print(format_table(rows, rows[-1]))
    print(f"ES-RNN fit + predict: {wall:.1f} s wall, {cpu:.1f} s CPU")


if __name__ == "__main__":
    main()
