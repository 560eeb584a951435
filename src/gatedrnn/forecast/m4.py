"""M4 Hourly end to end (``gatedrnn forecast --dataset m4-hourly``): the competition's own files, the global
``Forecaster`` trained on the 414 training series, 48-hour forecasts, and sMAPE / MASE / OWA (+ MSIS and the
coverage of the 95 % interval) for it and for the baselines computed in the same run, next to the competition's
published figures.

The files are ``m4/Hourly-train.csv`` and ``m4/Hourly-test.csv`` under ``--data-dir`` or ``GATEDRNN_DATA``, in M4's
wide format (``V1`` the id, then the values, padded with empty cells), checked against their SHA-256. The cheap
baselines (naive, seasonal naive, Naive2) are computed every time; statsforecast's (``baselines_sf``) are cached
beside the run, keyed by the files' SHA-256.
"""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

import numpy

from gatedrnn.data.corpus import search_dirs, sha256_of
from gatedrnn.errors import UserError
from gatedrnn.forecast.baselines import naive2_forecast, naive_forecast, seasonal_naive_forecast
from gatedrnn.forecast.baselines_sf import SF_METHODS, require_uncached, sf_forecasts
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.metrics import coverage, mase, msis, owa, smape
from gatedrnn.forecast.result import COMMAND, RUN_FILES, indented
from gatedrnn.train.run_output import writing_run

DATASET, HORIZON, SEASON = "m4-hourly", 48, 24
FILES = {"train": ("m4/Hourly-train.csv", "ea59b7783573c49077a835ab6465c7d66f1474783360f310988a9a737fbca62f"),
         "test": ("m4/Hourly-test.csv", "71a57fccb15e534d973626ada4fb87febf789e9317715b7cc6dd3b5f90db6f42")}
# Mcompetitions/M4-methods, "Evaluation and Ranks.xlsx", Hourly: sMAPE, MASE, OWA
PUBLISHED = {"Naive2": (18.383, 2.395, 1.000), "seasonal naive (sNaive)": (13.912, 1.193, 0.627),
             "RNN benchmark": (14.698, 3.048, 1.036), "MLP benchmark": (13.842, 2.607, 0.921),
             "ES-RNN (Smyl, 1st overall)": (9.328, 0.893, 0.440), "best hourly entry": (8.913, 0.801, 0.410)}
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
CHEAP = ("naive", "snaive", "naive2")


def find_files(data_dir=None) -> dict:
    """{"train": path, "test": path} from the first data folder holding both, checked against their SHA-256."""
    for d in search_dirs(data_dir):
        paths = {k: d / rel for k, (rel, _) in FILES.items()}
        if all(p.is_file() for p in paths.values()):
            for k, p in paths.items():
                got = sha256_of(p)
                if got != FILES[k][1]:
                    raise UserError(f"M4 file {p}: expected sha256 {FILES[k][1]}, got {got}")
            return paths
    where = ", ".join(str(d) for d in search_dirs(data_dir)) or "no folder (give --data-dir or set GATEDRNN_DATA)"
    raise FileNotFoundError(f"M4 Hourly: expected m4/Hourly-train.csv and m4/Hourly-test.csv in {where}, got none")


def read_wide(path) -> dict:
    """M4's wide CSV -> {id: float64 values} (the padding dropped; a gap inside a series is an error)."""
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.reader(f)
        next(rows, None)
        for line, row in enumerate(rows, start=2):
            cells = [c.strip() for c in row[1:]]
            n = len(cells)
            while n and cells[n - 1] in ("", "NA", "NaN"):
                n -= 1
            bad = next((c for c in cells[:n] if not NUMBER.match(c)), None)
            if bad is not None:
                raise UserError(f"M4 file {path}: expected numbers on line {line}, got {bad[:20]!r}")
            v = numpy.array(cells[:n], dtype=numpy.float64)
            if not numpy.isfinite(v).all() or v.size == 0:
                raise UserError(f"M4 file {path}: expected finite values on line {line}, got NaN, Inf or none")
            out[row[0].strip()] = v
    return out


def score(name: str, train: list, test: list, fc: numpy.ndarray, lo=None, hi=None, seconds=None) -> dict:
    """The mean sMAPE, MASE (and MSIS, coverage when an interval is given) of ``fc`` (n, 48) over the series."""
    row = {"method": name, "smape": float(numpy.mean([smape(y, f) for y, f in zip(test, fc)])),
           "mase": float(numpy.mean([mase(y, f, x, SEASON) for x, y, f in zip(train, test, fc)])),
           "seconds": seconds}
    if lo is not None:
        row["msis"] = float(numpy.mean([msis(y, a, b, x, SEASON) for x, y, a, b in zip(train, test, lo, hi)]))
        row["coverage95"] = float(numpy.mean([coverage(y, a, b) for y, a, b in zip(test, lo, hi)]))
    return row


def cheap_baselines(train: list) -> dict:
    """{name: (n, 48) forecasts, seconds} of the naive, seasonal naive and Naive2 forecasts."""
    out = {}
    for name, fn in (("naive", lambda x: naive_forecast(x, HORIZON)),
                     ("snaive", lambda x: seasonal_naive_forecast(x, HORIZON, SEASON)),
                     ("naive2", lambda x: naive2_forecast(x, HORIZON, SEASON))):
        t0 = time.perf_counter()
        out[name] = (numpy.stack([fn(x) for x in train]), time.perf_counter() - t0)
    return out


def format_table(rows: list, naive2: dict) -> str:
    """The run's rows (OWA relative to this run's Naive2), then the published figures."""
    head = f"{'method':<34} {'sMAPE':>7} {'MASE':>6} {'OWA':>6} {'MSIS':>7} {'cov95':>6} {'seconds':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        o = owa(r["smape"], r["mase"], naive2["smape"], naive2["mase"])
        extra = (f" {r['msis']:7.2f} {r['coverage95']:6.3f}" if "msis" in r else f" {'':>7} {'':>6}")
        sec = f"{r['seconds']:8.1f}" if r.get("seconds") is not None else f"{'':>8}"
        lines.append(f"{r['method']:<34} {r['smape']:7.3f} {r['mase']:6.3f} {o:6.3f}{extra} {sec}")
    lines.append("published (M4, Evaluation and Ranks.xlsx, Hourly):")
    lines += [f"  {k:<32} {s:7.3f} {m:6.3f} {o:6.3f}" for k, (s, m, o) in PUBLISHED.items()]
    return "\n".join(lines)


def run_m4(cfg, *, out, data_dir=None, baselines=CHEAP, overwrite: bool = False, inputs=(), echo=print,
           progress: bool = True) -> dict:
    """Train, forecast, score and print the table (module docstring); returns {"rows", "settings", "seconds"}.
    ``cfg`` is the ``ForecastConfig``: the same defaults as any forecast (``forecaster_settings``: the window, the
    size and the steps left at none chosen from the data within ``time_limit``). The run folder ``out`` (the
    forecaster, forecasts.csv, results.json and config.json with the chosen settings) is written whole or not at
    all (``gatedrnn.run_folder``)."""
    unknown = [b for b in baselines if b not in CHEAP + SF_METHODS]
    if unknown:
        raise UserError(f"--baselines: expected names among {', '.join(CHEAP + SF_METHODS)}, got {unknown}")
    paths = find_files(data_dir)
    with writing_run(out, COMMAND, known=RUN_FILES, overwrite=overwrite, inputs=[*paths.values(), *inputs]) as folder:
        f, ids, p, doc = _evaluate(cfg, paths, Path(out), list(baselines), echo, progress)
        write_outputs(folder, f, ids, p, doc)
        folder.write_json("config.json", cfg.chosen(f).to_dict())
    echo(f"wrote {folder.final('model')} (Forecaster.load), {folder.final('forecasts.csv')}, "
         f"{folder.final('results.json')} and {folder.final('config.json')} (the settings used: re-run with --config)")
    return doc


def _evaluate(cfg, paths: dict, out: Path, baselines: list, echo, progress: bool = True):
    """Read the files, train and score everything, print the table: (forecaster, ids, its forecasts, results)."""
    tr, te = read_wide(paths["train"]), read_wide(paths["test"])
    ids = list(tr)
    if sorted(ids) != sorted(te) or any(te[i].size != HORIZON for i in ids):
        raise UserError(f"M4 Hourly: expected the same {len(ids)} ids in both files and {HORIZON} test values each")
    train, test = [tr[i] for i in ids], [te[i] for i in ids]
    shas, cache = {k: FILES[k][1] for k in FILES}, out.parent / "m4-baselines"
    sf = [b for b in baselines if b in SF_METHODS]
    require_uncached(sf, ids, cache, shas)
    settings, n_models = cfg.forecaster_settings(HORIZON, SEASON), cfg.n_models
    echo(f"M4 Hourly: {len(ids)} series, horizon {HORIZON}, season {SEASON}; forecaster {settings}")
    t0, c0 = time.perf_counter(), cpu_seconds()
    f = Forecaster(**settings).fit(train, echo=indented(echo) if progress else None)
    p = f.predict()
    fit_s, cpu_s = time.perf_counter() - t0, cpu_seconds() - c0
    name = f"gatedrnn {'ES-RNN ' if cfg.model == 'esrnn' else ''}{cfg.cell} x{n_models}"
    rows = [score(name, train, test, p["y_hat"], p["lo-95"], p["hi-95"], fit_s)]
    rows += member_rows(f, cfg.cell, train, test) if n_models > 1 else []
    cheap = cheap_baselines(train)
    for name in [b for b in CHEAP if b in baselines or b == "naive2"]:
        rows.append(score(name, train, test, cheap[name][0], seconds=cheap[name][1]))
    for name, (fc, sec) in sf_forecasts(sf, ids, train, HORIZON, SEASON, cache, shas, echo).items():
        rows.append(score(name, train, test, fc, seconds=sec))
    naive2 = next(r for r in rows if r["method"] == "naive2")
    echo(format_table(rows, naive2))
    peak = peak_memory_mb()
    echo(f"gatedrnn fit + predict: {fit_s:.1f} s wall, {cpu_s:.1f} s CPU; peak memory {peak:.0f} MB")
    doc = {"rows": rows, "settings": settings, "seconds": fit_s, "cpu_seconds": cpu_s, "peak_mb": peak,
           "history": f.history}
    return f, ids, p, doc


def cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (the member processes of
    ``GATEDRNN_NUM_PROCESSES``); this process's alone where the system has no ``resource`` module."""
    try:
        import resource
    except ImportError:         # Windows
        return time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def peak_memory_mb() -> float:
    """The peak resident memory in MB of this process, or of its largest finished child if that was larger
    (``ru_maxrss``: kilobytes on Linux, bytes on macOS)."""
    import resource
    import sys

    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def member_rows(f: Forecaster, cell: str, train: list, test: list) -> list:
    """A row for every ensemble member alone (the spread of single seeds against their median)."""
    rows, models = [], f.models
    for k, model in enumerate(models):
        f.models = [model]
        p = f.predict()
        rows.append(score(f"  {cell} seed {f.seed + k} alone", train, test, p["y_hat"], p["lo-95"], p["hi-95"]))
    f.models = models
    return rows


def write_outputs(folder, f: Forecaster, ids: list, p: dict, doc: dict) -> None:
    """Into the ``RunFolder`` ``folder``: the forecaster (``model``...), its forecasts (``forecasts.csv``:
    unique_id, step, y_hat and the interval columns) and ``results.json`` (the table's rows, the settings, the
    training history), each checked finite first."""
    cols = list(p)
    rows = [[uid, str(k + 1), *(float(p[c][i, k]) for c in cols)] for i, uid in enumerate(ids) for k in range(HORIZON)]
    folder.write_csv("forecasts.csv", ["unique_id", "step", *cols], rows, "M4 Hourly's forecasts")
    folder.write_json("results.json", doc, "M4 Hourly's scores")
    f.save(folder.stage)
