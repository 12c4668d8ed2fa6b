"""The operator's manual keeps up with the code: every 4xx/5xx reply the
gateway sends and every log event it writes at info or above has a row in
docs/operations.md, and the README links the manual."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway import replies

ROOT = Path(__file__).resolve().parents[2]
MANUAL = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
LOG_CALL = re.compile(r'\blog\.(?:info|warning|error|exception|critical)\(\s*"([^"]+)"')


def log_events() -> list[str]:
    found: set[str] = set()
    for path in (ROOT / "gateway").rglob("*.py"):
        found.update(LOG_CALL.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


@pytest.mark.parametrize("reply", [r for r in replies.ALL if r.code >= 400], ids=lambda r: f"{r.code}-{r.enhanced}")
def test_every_refusal_is_explained(reply: replies.Reply) -> None:
    assert f"`{reply.code} {reply.enhanced} " in MANUAL, reply


@pytest.mark.parametrize("event", log_events())
def test_every_log_event_is_explained(event: str) -> None:
    assert f"`{event}`" in MANUAL, event


def test_log_events_are_found() -> None:
    assert len(log_events()) > 20


def test_readme_links_the_manual() -> None:
    assert "(docs/operations.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_configuration_table_is_one_table_with_every_key() -> None:
    """A blank line inside a Markdown table ends it: the rows after it render as text."""
    from pydantic import BaseModel

    from gateway.config import Settings
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index("| key | default | meaning |")
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1].strip().strip("`"))
    keys = []
    for name, info in Settings.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += [f"{name}.{field}" for field in kind.model_fields]
        else:
            keys.append(name)
    covered = set()
    for row in rows:
        covered.update(k for k in keys if k == row or (row.endswith(".*") and k.startswith(row[:-1])))
    # review.* beyond review.listen is described in the README's review section.
    missing = [k for k in keys if k not in covered and not (k.startswith("review.") and k != "review.listen")]
    assert not missing, f"not in the README's configuration table: {missing}"
