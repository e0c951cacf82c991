"""Runtimes that execute model files: one class per runtime behind a small protocol."""
