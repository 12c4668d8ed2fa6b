"""Preparing one message (gateway.actions.prepare) in the worker's scan
process (gateway.offload), where the pipeline is built from the settings it is
sent and kept until they change."""

from __future__ import annotations

from pathlib import Path

from gateway import actions, pipeline
from gateway.config import Settings
from gateway.verdict import Envelope

_built: tuple[int, pipeline.Pipeline] | None = None   # in the scan process: (generation, pipeline)


def prepare(generation: int, settings: Settings, config_dir: Path | None, envelope: Envelope,
            data: bytes) -> actions.Prepared:
    """``actions.prepare`` in the scan process, with the pipeline of ``generation``:
    only what the worker needs goes back (``Prepared.shipped``: the content once)."""
    return actions.prepare(_pipeline(generation, settings, config_dir), envelope, data).shipped()


def warm(generation: int, settings: Settings, config_dir: Path | None) -> None:
    """Build the pipeline now (the scan process's first job)."""
    _pipeline(generation, settings, config_dir)


def _pipeline(generation: int, settings: Settings, config_dir: Path | None) -> pipeline.Pipeline:
    global _built
    if _built is None or _built[0] != generation:
        _built = (generation, pipeline.Pipeline.from_settings(settings, config_dir))
    return _built[1]
