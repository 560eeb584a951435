"""What both exports of a window ``Forecaster`` (C99: ``deploy/c99_forecaster.py``; ONNX:
``deploy/forecaster_onnx.py``) check and say of its strategy: the networks' outputs against the strategy
(``check_outputs``) and the words a message adds for a recursive forecaster (``recursive_note``)."""

from __future__ import annotations

from gatedrnn.errors import UserError, show


def recursive_note(f) -> str:
    """What a message adds after the horizon of a recursive forecaster (nothing for a direct one)."""
    return " (recursive: a one-step network, its median fed back)" if f.strategy == "recursive" else ""


def check_outputs(f, what: str) -> None:
    """One line unless every member outputs ``output_horizon`` x Q values (a recursive forecaster's one step, a
    direct one's horizon) and, for the recursive strategy, the quantiles hold 0.5 (the value fed back)."""
    want = f.output_horizon * len(f.quantiles)
    for k, model in enumerate(f.models):
        got = getattr(getattr(model, "head", None), "out_features", None)
        if got != want:
            raise UserError(f"{what}: expected member {k} to output {want} values ({f.strategy} strategy: "
                            f"{f.output_horizon} step(s) x {len(f.quantiles)} quantiles), got {show(got)}")
    if f.strategy == "recursive" and 0.5 not in f.quantiles:
        raise UserError(f"{what}: expected the quantile levels of a recursive forecaster to hold 0.5 (its median is "
                        f"fed back), got {show(f.quantiles)}")
