"""Training: the one loop (trainer.py) and what a run adds to it as callbacks (callbacks.py), the training state a
checkpoint carries to resume bit for bit (state.py), data-parallel training under MPI (distributed.py). Saving and
loading a checkpoint is the models floor's (``gatedrnn.models.io``, re-exported by checkpoint.py), so that reading
one needs nothing from here."""
