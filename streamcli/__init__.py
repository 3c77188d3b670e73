"""streamcli: stream answers from large language models into Unix pipelines."""

__version__ = "0.1.0"
