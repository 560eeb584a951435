"""Forecasting: a recurrent forecaster trained on a series, its baselines, and streaming its checkpoints."""
