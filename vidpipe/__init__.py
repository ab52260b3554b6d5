"""vidpipe: a text prompt to a finished video, built like `make`."""

__version__ = "0.1.0"
