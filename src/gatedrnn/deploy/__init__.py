"""Deployment: streaming inference one step at a time (``Stream``, ``SeriesStream``; ``stream_checkpoint`` runs a
checkpoint over the lines of a text stream, pipe.py) and ONNX export (onnx.py; ``export_checkpoint`` exports and
checks a checkpoint, export.py; both need the onnx extra)."""

from gatedrnn.deploy.export import export_checkpoint
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.forecast.stream import SeriesStream
from gatedrnn.models.stream import Stream

__all__ = ["SeriesStream", "Stream", "export_checkpoint", "stream_checkpoint"]
