"""The applications' export adapters, by checkpoint kind: the one place in ``deploy/`` that reads what a checkpoint
holds (``models.io.checkpoint_kind``), so that the exports and the stream ask ``adapter_for(meta)`` instead of
branching on kinds themselves.

An adapter says what its application adds around its network:

* ``io(found, model, meta)``: pre- and post-processing of the network's own export and stream: ``standardize``,
  the (mean, std) of the raw inputs (the step standardises them first), and ``labels``, one name per output
  (a ``Classifier.save`` folder: ``classify/export_adapter.py``). A checkpoint of a network alone has neither.
* ``whole``: the application's object exported in place of its network (a ``Forecaster.save`` folder, its
  members the checkpoint's siblings: ``forecast/export_adapter.py`` says its pre- and post-processing, and
  ``deploy/forecaster_onnx.py``, ``c99_forecaster_run.py`` and ``forecast_pipe.py`` write it out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gatedrnn.classify.export_adapter import classifier_io
from gatedrnn.deploy.c99_forecaster_run import export_forecaster_c_folder
from gatedrnn.deploy.forecast_pipe import stream_forecaster
from gatedrnn.deploy.forecaster_onnx import export_forecaster_folder
from gatedrnn.models.io import checkpoint_kind


@dataclass(frozen=True)
class NetworkIO:
    """What an export or a stream puts before and after a network: ``standardize`` ((mean, std) of the raw
    inputs, or None) and ``labels`` (one name per output, or None)."""

    standardize: tuple | None = None
    labels: list | None = None


@dataclass(frozen=True)
class Whole:
    """An application's object exported in place of its network: ``what`` it is (in one-line refusals),
    ``folder(found)`` (where its files live: no export inside it), its ONNX export ``onnx(found, target, echo)``,
    its C export ``c(found, out, int8, prefix, echo)``, its stream ``stream(found, lines, emit)``, why it has no
    start state (``stateless``) and why no fixed-point export (``no_fixed``)."""

    what: str
    folder: Callable[[Path], Path]
    onnx: Callable[..., dict]
    c: Callable[..., dict]
    stream: Callable[..., None]
    stateless: str
    no_fixed: str


@dataclass(frozen=True)
class Adapter:
    """One kind's adapter: ``io`` around its network, or its ``whole`` object instead (see the module docstring)."""

    io: Callable[..., NetworkIO] = lambda found, model, meta: NetworkIO()
    whole: Whole | None = None


def _classifier(found, model, meta) -> NetworkIO:
    got = classifier_io(found, model, meta)
    return NetworkIO(got.standardize, got.labels)


_FORECASTER = Whole("a Forecaster folder", lambda found: found.parent, export_forecaster_folder,
                    export_forecaster_c_folder, stream_forecaster,
                    stateless="every forecast starts from the zero state on its window",
                    no_fixed="its C export is float: drop --fixed")

ADAPTERS: dict[str, Adapter] = {"classifier": Adapter(io=_classifier), "forecaster": Adapter(whole=_FORECASTER)}
NETWORK = Adapter()     # a checkpoint of a network alone


def adapter_for(meta: dict) -> Adapter:
    """The adapter of the checkpoint whose ``meta.json`` is ``meta``: its application's, or ``NETWORK``."""
    return ADAPTERS.get(checkpoint_kind(meta), NETWORK)
