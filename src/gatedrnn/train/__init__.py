"""Training: the loop (trainer.py) and checkpoints (checkpoint.py)."""
