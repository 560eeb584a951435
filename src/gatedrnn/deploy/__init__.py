"""Deployment: streaming inference one step at a time (stream.py) and ONNX export (onnx.py, needs the onnx extra)."""

from gatedrnn.deploy.stream import SeriesStream, Stream

__all__ = ["SeriesStream", "Stream"]
