"""A Forecaster's export adapter: its pre- and post-processing as an exporter needs them, said by the forecast side
once, so that deploy's emitters (the C step, ``deploy/c99_forecaster.py``; the ONNX graph,
``deploy/forecaster_onnx.py``; the pipe, ``deploy/forecast_pipe.py``) write the computation ``Forecaster.predict``
does instead of re-deriving it. deploy sits below forecast and imports none of it: the package's ``__init__``
hands ``ADAPTER`` over (``deploy.adapters.register_adapter``), and the emitters read these facts from it
(``FACTS``, a ``deploy.adapters.ForecasterFacts``).

* ``base_positions(f)``: the window position the base (``features.base_values``: seasonal naive or naive) reads
  for each step ahead, taken from ``base_values`` itself run on the positions; None for ``base="none"``.
* ``columns(f)``: the outputs' names and quantile indices, as ``predict`` and ``Forecaster.stream`` name them.
* ``VALUE_LIMIT``: the largest magnitude of a raw value the forecaster accepts (``checks.VALUE_LIMIT``).
* ``load_folder(found)``: the Forecaster of a checkpoint ``found`` of its folder (its members are siblings),
  ``check_streamable``: what a stream of it needs (``live.check_streamable``), and ``refuse_export``: one line for
  the hybrid (``model="esrnn"``) where an export writes the window model only (``esrnn_choice.refuse_export``).

A Forecaster folder is exported whole (``ADAPTER.whole``): deploy's ONNX, C and stream of the folder, each given
``FACTS``. The window's normalisation (mean and standard deviation, floored) and the inputs (the normalised value,
sin/cos of the season position, the mask input) are ``features.normalise`` and ``features.inputs``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy

from gatedrnn.deploy.adapters import Adapter, ForecasterFacts, Whole
from gatedrnn.deploy.c99_forecaster_run import export_forecaster_c_folder
from gatedrnn.deploy.forecast_pipe import stream_forecaster
from gatedrnn.deploy.forecaster_onnx import export_forecaster_folder
from gatedrnn.forecast.checks import VALUE_LIMIT
from gatedrnn.forecast.esrnn_choice import refuse_export
from gatedrnn.forecast.features import base_values
from gatedrnn.forecast.forecaster import Forecaster
from gatedrnn.forecast.live import check_streamable, stream_columns

__all__ = ["ADAPTER", "FACTS", "VALUE_LIMIT", "base_positions", "check_streamable", "columns", "load_folder",
           "refuse_export"]


def load_folder(found: Path) -> Forecaster:
    """The Forecaster saved in the folder whose member checkpoint is ``found`` (``Forecaster.save``)."""
    return Forecaster.load(Path(found).parent)


def base_positions(f) -> numpy.ndarray | None:
    """(horizon,) int64: the window position ``features.base_values`` reads for each step ahead of the forecaster
    ``f``; None for base "none" (nothing is added)."""
    if f.base == "none":
        return None
    pos = numpy.arange(f.window, dtype=numpy.float64)[None]
    return base_values(pos, f.season, f.horizon, f.base)[0].astype(numpy.int64)


def columns(f) -> list:
    """[(output name, quantile index)]: ``y_hat`` (the median) then the interval columns, as ``predict``."""
    return stream_columns(f)


FACTS = ForecasterFacts(VALUE_LIMIT, load_folder, base_positions, columns, refuse_export, check_streamable)

# the members are the siblings of the checkpoint found (model, model-1 ...): the Forecaster is their folder's
ADAPTER = Adapter(whole=Whole("a Forecaster folder", lambda found: found.parent, partial(export_forecaster_folder, FACTS),
                              partial(export_forecaster_c_folder, FACTS), partial(stream_forecaster, FACTS),
                              stateless="every forecast starts from the zero state on its window",
                              no_fixed="its C export is float: drop --fixed"),
                  facts=FACTS)
