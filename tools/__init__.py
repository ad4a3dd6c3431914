"""Tooling (installed as ils.tools): the sample city generator, the demo day, the benchmark and its bulk loader."""
