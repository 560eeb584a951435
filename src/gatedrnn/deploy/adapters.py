"""The applications' export adapters, by checkpoint kind: the one place in ``deploy/`` that reads what a checkpoint
holds (``models.io.checkpoint_kind``), so that the exports and the stream ask ``adapter_for(meta)`` instead of
branching on kinds themselves.

deploy/ sits below the applications and imports none of them: each application hands its adapter over, from its
package's ``__init__`` next to its ``models.io.register_kind``, through ``register_adapter(kind, adapter)``
(``forecast/export_adapter.py``, ``classify/export_adapter.py`` build theirs). ``import gatedrnn.deploy`` runs
``gatedrnn/__init__.py`` first, which imports both applications, so the table is filled before any export runs. A
checkpoint whose kind has no adapter (a network alone) gets ``NETWORK``: its network exported as it is.

An adapter says what its application adds around its network:

* ``io(found, model, meta)``: pre- and post-processing of the network's own export and stream: ``standardize``,
  the (mean, std) of the raw inputs (the step standardises them first), and ``labels``, one name per output
  (a ``Classifier.save`` folder). A checkpoint of a network alone has neither.
* ``whole``: the application's object exported in place of its network (a ``Forecaster.save`` folder, its
  members the checkpoint's siblings: ``deploy/forecaster_onnx.py``, ``c99_forecaster_run.py`` and
  ``forecast_pipe.py`` write it out).
* ``facts``: what deploy's emitters of that whole object read from its application (the Forecaster's:
  ``ForecasterFacts``); ``facts_of(obj)`` finds them for an application's object by its registered class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatedrnn.errors import UserError
from gatedrnn.models.io import KINDS, checkpoint_kind


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
class ForecasterFacts:
    """What the Forecaster's emitters (``forecaster_onnx.py``, ``c99_forecaster.py``, ``c99_forecaster_run.py``,
    ``forecast_pipe.py``) read from the forecast side, said there once (``forecast/export_adapter.py``):
    ``value_limit`` (the largest magnitude of a raw value it accepts), ``load_folder(found)`` (the Forecaster whose
    member checkpoint is ``found``), ``base_positions(f)`` (the window position of the base per step ahead, or
    None), ``columns(f)`` ([(output name, quantile index)]), ``refuse_export(f, what, instead)`` and
    ``check_streamable(f, where)`` (one line each for what the export or the stream cannot do)."""

    value_limit: float
    load_folder: Callable[[Path], Any]
    base_positions: Callable[[Any], Any]
    columns: Callable[[Any], list]
    refuse_export: Callable[[Any, str, str], None]
    check_streamable: Callable[[Any, str], None]


@dataclass(frozen=True)
class Adapter:
    """One kind's adapter: ``io`` around its network, or its ``whole`` object instead, with the ``facts`` its
    emitters read (see the module docstring)."""

    io: Callable[..., NetworkIO] = lambda found, model, meta: NetworkIO()
    whole: Whole | None = None
    facts: Any = None


ADAPTERS: dict[str, Adapter] = {}     # kind -> its application's adapter (register_adapter)
NETWORK = Adapter()                   # a checkpoint of a network alone, or of a kind without an adapter


def register_adapter(kind: str, adapter: Adapter) -> None:
    """The application's ``adapter`` for its checkpoint kind ``kind`` (registered first with
    ``models.io.register_kind``)."""
    if kind not in KINDS or KINDS[kind].network:
        raise ValueError(f"register_adapter: expected an application kind registered in models.io, got {kind!r}")
    ADAPTERS[kind] = adapter


def adapter_for(meta: dict) -> Adapter:
    """The adapter of the checkpoint whose ``meta.json`` is ``meta``: its application's, or ``NETWORK``."""
    return ADAPTERS.get(checkpoint_kind(meta), NETWORK)


def facts_of(obj, what: str) -> Any:
    """The ``facts`` of the adapter registered for the application class of ``obj`` (``models.io``'s kinds); one
    line, naming ``what`` asked, for an object of no such class."""
    for kind, adapter in ADAPTERS.items():
        if adapter.facts is not None and isinstance(obj, KINDS[kind].cls):
            return adapter.facts
    raise UserError(f"{what}: expected an object of an application with an export adapter, got {type(obj).__name__}")
