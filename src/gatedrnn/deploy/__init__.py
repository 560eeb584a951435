"""Deployment: streaming inference one step at a time (``Stream``, ``SeriesStream``) and ONNX export (onnx.py,
needs the onnx extra)."""

from gatedrnn.forecast.stream import SeriesStream
from gatedrnn.models.stream import Stream

__all__ = ["SeriesStream", "Stream"]
