"""Judging one message: the same work in the worker (inline or in a thread)
and in its scan process (gateway.offload), where the pipeline is built from
the settings it is sent and kept until they change."""

from __future__ import annotations

from pathlib import Path

from detectors.budget import OutOfTime
from gateway import actions, pipeline
from gateway.config import Settings

_built: tuple[int, pipeline.Pipeline] | None = None   # in the scan process: (generation, pipeline)


def judged(stages: pipeline.Pipeline, envelope: pipeline.Envelope,
           content: bytes) -> tuple[pipeline.Verdict, str | None]:
    """The verdict and the masked Message-ID (masking runs the detector too).

    The scan's CPU budget (detectors.budget) is a BaseException meant to stay
    inside the scan; should one ever escape, it becomes an ordinary failure."""
    try:
        message_id = stages.masked(actions.message_id(content))
        return stages.run(envelope, content), message_id
    except OutOfTime:
        raise RuntimeError("scan budget escaped the scan") from None


def judge(generation: int, settings: Settings, config_dir: Path | None, envelope: pipeline.Envelope,
          content: bytes) -> tuple[pipeline.Verdict, str | None]:
    """``judged`` in the scan process, with the pipeline of ``generation``."""
    return judged(_pipeline(generation, settings, config_dir), envelope, content)


def warm(generation: int, settings: Settings, config_dir: Path | None) -> None:
    """Build the pipeline now (the scan process's first job)."""
    _pipeline(generation, settings, config_dir)


def _pipeline(generation: int, settings: Settings, config_dir: Path | None) -> pipeline.Pipeline:
    global _built
    if _built is None or _built[0] != generation:
        _built = (generation, pipeline.Pipeline.from_settings(settings, config_dir))
    return _built[1]
