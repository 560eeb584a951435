"""Deployment: streaming inference one step at a time (``Stream``; ``stream_checkpoint`` runs a
checkpoint over the lines of a text stream, pipe.py) and ONNX export (onnx.py; ``export_checkpoint`` exports and
checks a checkpoint, export.py; both need the onnx extra), the ONNX export of a whole ``forecast.Forecaster``
with its preprocessing (forecaster_onnx.py: ``export_forecaster_onnx``, ``run_forecaster_onnx``) and the C99
export (c99.py: ``export_c``; ``export_c_checkpoint`` writes a checkpoint's model as ``<prefix>.h``/``<prefix>.c``)."""

from gatedrnn.deploy.c99 import export_c
from gatedrnn.deploy.export import export_c_checkpoint, export_checkpoint
from gatedrnn.deploy.forecaster_onnx import build_forecaster_onnx, export_forecaster_onnx, run_forecaster_onnx
from gatedrnn.deploy.pipe import stream_checkpoint
from gatedrnn.models.stream import Stream

__all__ = ["Stream", "build_forecaster_onnx", "export_c", "export_c_checkpoint", "export_checkpoint",
           "export_forecaster_onnx", "run_forecaster_onnx", "stream_checkpoint"]
