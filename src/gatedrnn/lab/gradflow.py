"""Gradient flow through time: how much of a last-step loss reaches each earlier step, per cell.

The loss is ``L = sum(h_T)`` (the top layer's output at the last step only). Every number comes from the
library's own backward pass:

* ``‖∂L/∂x_t‖`` for every t is the ``dx`` that one backward call over the whole sequence returns;
* ``‖∂L/∂h_t‖`` (and ``‖∂L/∂c_t‖`` for the LSTM) is the initial-state gradient ``.dstate`` of a backward call
  over the suffix ``x_{t+1..T}`` started from the state the forward pass reached at step t. The suffix pass
  runs exactly the arithmetic of the whole-sequence pass, so this is the gradient the full backward carries
  through ``h_t``; it costs T suffix passes (quadratic in T, a few seconds at T = 100..500).

For the LSTM, ``∂L/∂c_t`` is the gradient that reaches c_t along the cell path, from c_{t+1}
(``dc_t = f_{t+1} * dc_{t+1}`` plus what step t+1's gates send back): the quantity the "constant error
carousel" argument is about. Autograd's total ``c_t.grad`` also holds the path through h_t = o_t tanh(c_t) of
the same step; ``tests/lab/test_gradflow.py`` checks all three norms against PyTorch's autograd.

What it shows (Bengio, Simard & Frasconi 1994; Hochreiter & Schmidhuber 1997; Pascanu, Mikolov & Bengio 2013):
the plain RNN multiplies the gradient by ``diag(1 - h^2) W_hh`` at every step, so it shrinks geometrically
(vanishing) when W_hh is small and can grow (exploding) when it is large (``weight_scale``); the LSTM's cell
path multiplies only by the forget gate, ``dc_{t-1} = f_t * dc_t``, so with a forget-gate bias of 1.0
(f ≈ 0.73 at the start) the gradient survives many more steps than with a bias of 0.0 (f ≈ 0.5).

Measurements run in float64 by default: at T = 100 the plain RNN's ratio is near 1e-33, close to the
bottom of float32's range.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy

from gatedrnn.atomic import write_text_atomic
from gatedrnn.backend import resolve_dtype, to_numpy, xp
from gatedrnn.config import Config, option
from gatedrnn.errors import check_choice, check_count, check_finite_number, check_int, check_positive
from gatedrnn.lab.options import cells, check_each, check_file_stem, check_length, finite_numbers, some
from gatedrnn.layers import CELLS, make_recurrent


@dataclass
class GradflowConfig(Config):
    """``gatedrnn gradflow``: which cells, which sequence, which initialisations."""

    cell: list[str] = option(cells(), "one or more cells", choices=cells, check=some)
    length: int = option(100, "sequence length T", check=check_length)
    hidden_size: int = option(64, "hidden units (the inputs have as many features)", check=check_int)
    batch_size: int = option(1, "sequences in the batch", check=check_int)
    weight_scale: list[float] = option([], "multiply the recurrent weights W_hh by S (< 1: vanishing, > 1: exploding "
                                       "in the plain RNN); several values give one panel each (none given: the "
                                       "initialisation as drawn)", check=check_each(check_positive, empty_ok=True))
    forget_bias: list[float] = option([1.0], "LSTM forget-gate bias; several values give one LSTM panel each",
                                      check=finite_numbers)
    seed: int = option(0, "seed of the weights and the inputs", check=check_count)


@dataclass
class Flow:
    """One run: ``dx[t-1] = ‖∂L/∂x_t‖`` for t = 1..T; ``dh[t] = ‖∂L/∂h_t‖`` and ``dc[t] = ‖∂L/∂c_t‖`` (cell path,
    see the module docstring) for t = 0..T-1 (``dc`` is ``None`` for cells without a memory cell)."""

    cell: str
    forget_bias: float | None
    weight_scale: float | None
    dx: numpy.ndarray
    dh: numpy.ndarray
    dc: numpy.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        return len(self.dx)

    @property
    def ratio(self) -> float:
        """``‖∂L/∂x_1‖ / ‖∂L/∂x_T‖``: the fraction of the last step's gradient that reaches the first input."""
        return float(self.dx[0] / self.dx[-1]) if self.dx[-1] > 0 else float("nan")

    @property
    def label(self) -> str:
        s = self.cell.upper() if self.cell != "rnn" else "tanh RNN"
        if self.cell == "lstm":
            s += f", forget bias {self.forget_bias:g}"
        if self.weight_scale is not None:
            s += f", W_hh x{self.weight_scale:g}"
        return s


def gradient_flow(cell: str = "lstm", length: int = 100, hidden_size: int = 64, *, input_size: int | None = None,
                  batch_size: int = 1, weight_scale: float | None = None, forget_bias: float = 1.0, seed: int = 0,
                  dtype=numpy.float64) -> Flow:
    """Measure the gradient reaching every step of a ``length``-long sequence for one freshly initialised layer.

    Inputs are drawn from N(0, 1), ``(batch_size, length, input_size)`` with ``input_size`` defaulting to
    ``hidden_size``; the layer is initialised as the library does by default (seeded by ``seed``), then its
    recurrent weights are multiplied by ``weight_scale`` when given. The same ``seed`` gives the same inputs for
    every cell.
    """
    check_choice("gradflow cell", cell, CELLS)
    check_length("gradflow length", length)
    check_int("gradflow hidden_size", hidden_size)
    check_int("gradflow batch_size", batch_size)
    D = check_int("gradflow input_size", hidden_size if input_size is None else input_size)
    check_positive("gradflow weight_scale", weight_scale, none_ok=True)
    check_finite_number("gradflow forget_bias", forget_bias)
    dtype = resolve_dtype(dtype)
    model = make_recurrent(cell, D, hidden_size, 1, forget_bias=forget_bias, dtype=dtype, seed=seed)
    if weight_scale is not None:
        model.layers[0].Wh *= weight_scale
    rng = numpy.random.default_rng(seed)
    x = xp.asarray(rng.standard_normal((batch_size, length, D)), dtype=dtype)
    T, H = length, hidden_size

    # 1. the whole sequence: dx for every step, with dL/dh_T = 1 and nothing else
    y, _ = model.forward(x)
    dy = xp.zeros_like(y)
    dy[:, -1] = 1.0
    dx = model.backward(dy)
    dx_norm = to_numpy(xp.sqrt((dx.astype(numpy.float64) ** 2).sum(axis=(0, 2))))

    # 2. the gradient reaching h_t (and c_t), t = 0..T-1
    dh_norm = numpy.zeros(T)
    dc_norm = numpy.zeros(T) if model.layer_class.has_cell else None
    for t, ds in enumerate(state_gradients(model, x, dy)):
        if dc_norm is not None:
            dh_norm[t] = float(xp.linalg.norm(ds[0]))
            dc_norm[t] = float(xp.linalg.norm(ds[1]))
        else:
            dh_norm[t] = float(xp.linalg.norm(ds))
    model.zero_grad()
    return Flow(cell, forget_bias if cell == "lstm" else None, weight_scale, dx_norm, dh_norm, dc_norm,
                meta=dict(length=T, hidden_size=H, input_size=D, batch_size=batch_size, seed=seed, dtype=str(dtype)))


def state_gradients(model, x, dy):
    """Yield, for t = 0..T-1, the gradient of the loss with respect to the state after t steps of ``x``
    (``(h, c)`` for the LSTM, each ``(num_layers, batch, hidden)``), where ``dy`` ``(batch, T, hidden)`` is the
    gradient of the loss with respect to the outputs.

    The states come from feeding ``x`` one step at a time with the state carried; the gradient at t is the
    ``.dstate`` of a forward/backward over the suffix ``x[:, t:]`` started from that state. The model's
    parameter gradients accumulate along the way (``zero_grad`` afterwards if they matter)."""
    T = x.shape[1]
    states, s = [None], None
    for t in range(T - 1):
        _, s = model.forward(x[:, t:t + 1], s)
        states.append(s)
    for t in range(T):
        model.forward(x[:, t:], states[t])
        model.backward(dy[:, t:])
        yield model.dstate


def compare(cells=("rnn", "lstm", "gru"), forget_biases=(1.0,), weight_scales=(None,), **kwargs) -> list[Flow]:
    """``gradient_flow`` for every cell (the LSTM once per forget bias) and every recurrent-weight scale."""
    runs = []
    for ws in weight_scales:
        for cell in cells:
            for fb in (forget_biases if cell == "lstm" else (1.0,)):
                runs.append(gradient_flow(cell, weight_scale=ws, forget_bias=fb, **kwargs))
    return runs


def to_csv(runs: list[Flow]) -> str:
    """Long format, one row per run and step: run,cell,forget_bias,weight_scale,t,dh_norm,dc_norm,dx_norm.

    Row t holds ‖∂L/∂h_t‖ and ‖∂L/∂c_t‖ (t = 0..T-1; empty at T, where ∂L/∂h_T = 1 is the loss itself) and
    ‖∂L/∂x_t‖ (t = 1..T; empty at 0)."""
    lines = ["run,cell,forget_bias,weight_scale,t,dh_norm,dc_norm,dx_norm"]
    for k, r in enumerate(runs):
        fb = "" if r.forget_bias is None else f"{r.forget_bias:g}"
        ws = "" if r.weight_scale is None else f"{r.weight_scale:g}"
        for t in range(r.length + 1):
            dh = f"{r.dh[t]:.6e}" if t < r.length else ""
            dc = f"{r.dc[t]:.6e}" if (r.dc is not None and t < r.length) else ""
            dx = f"{r.dx[t - 1]:.6e}" if t > 0 else ""
            lines.append(f"{k},{r.cell},{fb},{ws},{t},{dh},{dc},{dx}")
    return "\n".join(lines) + "\n"


def summary(runs: list[Flow]) -> str:
    """A table: per run, ‖∂L/∂h_0‖, ‖∂L/∂c_0‖, the ratio ‖∂L/∂x_1‖ / ‖∂L/∂x_T‖ and how many times smaller
    that ratio is than the largest one in the table."""
    T = runs[0].length if runs else 0
    w = max([len(r.label) for r in runs] + [4])
    best = max((r.ratio for r in runs if math.isfinite(r.ratio)), default=float("nan"))
    out = [f"{'cell':<{w}}  {'|dL/dh_0|':>10}  {'|dL/dc_0|':>10}  {f'|dL/dx_1|/|dL/dx_{T}|':>18}  {'largest / this':>14}"]
    for r in runs:
        dc = f"{r.dc[0]:10.2e}" if r.dc is not None else f"{'-':>10}"
        rel = best / r.ratio if r.ratio > 0 else float("inf")
        out.append(f"{r.label:<{w}}  {r.dh[0]:10.2e}  {dc}  {r.ratio:18.2e}  {rel:14.2e}")
    return "\n".join(out)


def plot(runs: list[Flow], path, echo=print):
    """One panel per run, side by side, log-scale y: ‖∂L/∂h_t‖, ‖∂L/∂c_t‖ (LSTM) and ‖∂L/∂x_t‖ against t.
    Returns the path written, or ``None`` when matplotlib is missing (a note is printed)."""
    from gatedrnn.lab.plots import new_figure, save_figure

    n = len(runs)
    fig = new_figure((3.2 * n + 0.6, 3.4), echo)
    if fig is None:
        return None
    axes = fig.subplots(1, n, sharey=True, squeeze=False)
    for ax, r in zip(axes[0], runs):
        t = numpy.arange(r.length)
        ax.semilogy(t, numpy.where(r.dh > 0, r.dh, numpy.nan), label="|dL/dh_t|", lw=1.6)
        if r.dc is not None:
            ax.semilogy(t, numpy.where(r.dc > 0, r.dc, numpy.nan), label="|dL/dc_t| (cell path)", lw=1.6)
        ax.semilogy(t + 1, numpy.where(r.dx > 0, r.dx, numpy.nan), label="|dL/dx_t|", lw=1.0, ls="--")
        ax.set_title(r.label, fontsize=9)
        ax.set_xlabel("step t (loss at the last step)", fontsize=8)
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][0].set_ylabel("gradient norm (log scale)", fontsize=8)
    m = runs[0].meta
    fig.suptitle(f"Gradient reaching each step: T={m['length']}, hidden {m['hidden_size']}, inputs N(0,1), seed {m['seed']}",
                 fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def run_gradflow(cfg: GradflowConfig, out, name: str = "gradflow", echo=print) -> list[Flow]:
    """``gatedrnn gradflow``: measure every cell of ``cfg``, print the table, write ``out/name.{csv,png}``
    (``name`` a plain file stem: nothing is written outside ``out``)."""
    cfg.validate()
    check_file_stem("--name", name)
    runs = compare(list(dict.fromkeys(cfg.cell)), forget_biases=cfg.forget_bias, weight_scales=cfg.weight_scale or [None],
                   length=cfg.length, hidden_size=cfg.hidden_size, batch_size=cfg.batch_size, seed=cfg.seed)
    echo(f"gradient of L = sum(h_{cfg.length}) reaching earlier steps (hidden {cfg.hidden_size}, batch "
         f"{cfg.batch_size}, inputs N(0,1), seed {cfg.seed}, float64)")
    echo(summary(runs))
    echo(f"wrote {write_text_atomic(os.path.join(out, f'{name}.csv'), to_csv(runs))}")
    png = plot(runs, os.path.join(out, f"{name}.png"), echo=echo)
    if png:
        echo(f"wrote {png}")
    return runs
