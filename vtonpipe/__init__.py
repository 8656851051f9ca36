"""vtonpipe: batch virtual try-on pipeline (ingest, preprocess, render, evaluate) on Ray + OpenVINO."""

__version__ = "0.1.0"
