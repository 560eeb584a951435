"""Corpora, vocabularies and Truncated-BPTT batching."""
