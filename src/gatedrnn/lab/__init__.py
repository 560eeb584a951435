"""Experiments that turn the seed's claims into measurements."""
