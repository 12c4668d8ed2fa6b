"""Retention: each profile's retention_days and on_expiry, applied to a real
store, with releases relayed to a real sink."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway import config
from gateway.quarantine import open_from_settings
from gateway.quarantine.store import AuditQuery
from gateway.review.purge import purge
from gateway.review.serve import load_profiles
from tests.e2e.harness import ROOT, Sink
from tests.e2e.review.seed import compose, hold


@pytest.fixture
def sink() -> Iterator[Sink]:
    started = Sink().start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def setup(tmp_path: Path, sink: Sink) -> Iterator[tuple[config.Settings, Any, Any]]:
    policies = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text())
    policies["profiles"]["citrus-water"].update(retention_days=7, on_expiry="release")
    (tmp_path / "policies.yaml").write_text(yaml.safe_dump(policies))
    settings = config.Settings.model_validate({
        "data_dir": str(tmp_path / "var"),
        "relay": {"address": f"127.0.0.1:{sink.port}", "starttls": "off", "timeout": 5}})
    store = open_from_settings(settings)
    try:
        yield settings, store, load_profiles(tmp_path)
    finally:
        store.close()


def put(settings: config.Settings, store: Any, profile: str, days: float) -> str:
    content = compose("a@citrus.example", ["x@example.com"], "Held", "SSN 219-45-6789\n")
    return hold(settings, content, "a@citrus.example", ["x@example.com"], profile, "Held",
                age=timedelta(days=days), store=store).id


def test_each_profile_keeps_its_own_time_and_acts_as_it_says(
        setup: tuple[config.Settings, Any, Any], sink: Sink) -> None:
    settings, store, profiles = setup
    old_cerritos = put(settings, store, "cerritos", 31)        # default: 30 days, then delete
    young_cerritos = put(settings, store, "cerritos", 29)
    old_citrus = put(settings, store, "citrus-water", 8)           # 7 days, then release
    young_citrus = put(settings, store, "citrus-water", 6)
    unknown = put(settings, store, "retired-profile", 45)      # no longer configured: the default's rule
    report = purge(store, profiles, settings.relay)
    assert (report.deleted, report.released, report.failed) == (2, 1, 0)
    statuses = {id: store.get(id).status for id in (old_cerritos, young_cerritos, old_citrus, young_citrus, unknown)}
    assert statuses == {old_cerritos: "deleted", young_cerritos: "held", old_citrus: "released",
                        young_citrus: "held", unknown: "deleted"}
    [delivered] = sink.wait_for(1)
    assert delivered.content.startswith(f"X-DLP-Released-By: retention; quarantine={old_citrus}".encode())
    assert {r["actor"] for r in store.audit_page(AuditQuery(message_id=old_citrus))} == {"retention"}
    [run] = store.audit_page(AuditQuery(event="purge"))
    assert run["actor"] == "retention"
    assert run["details"] == {"deleted": 2, "released": 1, "failed": 0,
                              "profiles": {"cerritos": 1, "citrus-water": 1, "retired-profile": 1}}


def test_a_profile_whose_release_is_an_authorization_cannot_release_at_expiry(tmp_path: Path) -> None:
    from gateway.config import ConfigError
    policies = yaml.safe_load((ROOT / "config" / "policies.yaml").read_text())
    policies["profiles"]["palos-verdes"].update(retention_days=7, on_expiry="release")
    (tmp_path / "policies.yaml").write_text(yaml.safe_dump(policies))
    with pytest.raises(ConfigError, match="release_note: required"):
        load_profiles(tmp_path)


def test_a_refused_release_at_expiry_stays_held_for_the_next_run(
        setup: tuple[config.Settings, Any, Any], sink: Sink) -> None:
    settings, store, profiles = setup
    ids = [put(settings, store, "citrus-water", 10) for _ in range(3)]
    sink.handler.data_reply = "451 4.3.0 try later"
    report = purge(store, profiles, settings.relay)
    assert (report.released, report.failed) == (0, 3)
    assert all(store.get(id).status == "held" and "451" in (store.get(id).last_error or "") for id in ids)
    sink.handler.data_reply = None
    assert purge(store, profiles, settings.relay).released == 3
    assert len(sink.wait_for(3)) == 3
