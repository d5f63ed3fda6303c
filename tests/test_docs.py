"""The docs are the contract: every frame type, field, error code, event, setting and route that
the code defines must be documented, so these tests fail when the code grows and the docs do not."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from signaling import handlers, messages, session
from web.app import create_app
from web.config import Config, settings_help
from web.errors import STATUS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# Packages whose `.publish(topic, "name", data)` calls put events on the WebSocket topics.
EVENT_PACKAGES = ("hall", "services", "web")
PUBLISH_CALL = re.compile(r"\.publish\(")
PUBLISH_EVENT = re.compile(r"\.publish\(\s*(?:f?\"[^\"]*\"|[\w.]+)\s*,\s*\"([a-z_]+)\"")
# Events the code is known to publish: guards the regex itself (an empty scan must not pass).
KNOWN_EVENTS = {
    "ticket_status",
    "queue",
    "visit_started",
    "visit_ended",
    "peer_state",
    "recording_ready",
}
CLIENT_MODELS: tuple[type[BaseModel], ...] = (
    messages.Ping,
    messages.Subscribe,
    messages.Unsubscribe,
    messages.Join,
    messages.Offer,
    messages.Leave,
)


def read_doc(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def backticked(text: str, name: str) -> bool:
    return f"`{name}`" in text


def in_heading(text: str, name: str) -> bool:
    word = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])")
    return any(line.startswith("#") and word.search(line) for line in text.splitlines())


def published_events() -> set[str]:
    """Every event name passed to `.publish(...)` in the event packages.

    Each call must name its event with a string literal, so that a new event cannot hide from
    this scan (and from the docs) behind a variable.
    """
    names: set[str] = set()
    for package in EVENT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            source = path.read_text(encoding="utf-8")
            calls = len(PUBLISH_CALL.findall(source))
            found = PUBLISH_EVENT.findall(source)
            assert len(found) == calls, (
                f"{path.relative_to(ROOT)}: {calls} .publish( calls but {len(found)} with a "
                "literal event name as second argument; name events with string literals"
            )
            names.update(found)
    return names


@pytest.mark.parametrize("kind", messages.CLIENT_TYPES + messages.SERVER_TYPES)
def test_every_frame_type_is_documented(kind: str) -> None:
    text = read_doc("signaling.md")
    assert backticked(text, kind) or in_heading(text, kind), f"frame type {kind!r} undocumented"


def test_every_client_frame_field_is_documented() -> None:
    modelled = {get_args(model.model_fields["type"].annotation)[0] for model in CLIENT_MODELS}
    assert modelled == set(messages.CLIENT_TYPES), "CLIENT_MODELS is out of date"
    text = read_doc("signaling.md")
    fields = {name for model in CLIENT_MODELS for name in model.model_fields}
    missing = sorted(name for name in fields if not backticked(text, name))
    assert not missing, f"client frame fields missing from docs/signaling.md: {missing}"


def test_frame_constraints_are_documented_verbatim() -> None:
    text = read_doc("signaling.md")
    for pattern in (messages.TOPIC_PATTERN, messages.ROOM_PATTERN):
        assert pattern in text, f"pattern {pattern!r} missing from docs/signaling.md"


@pytest.mark.parametrize("code", handlers.ERROR_CODES)
def test_every_signaling_error_code_is_documented(code: str) -> None:
    assert backticked(read_doc("signaling.md"), code), f"error code {code!r} undocumented"


@pytest.mark.parametrize(
    "code", [session.CLOSE_SLOW_CONSUMER, session.CLOSE_TOO_MANY_SOCKETS, session.CLOSE_ABUSE]
)
def test_every_close_code_is_documented(code: int) -> None:
    assert backticked(read_doc("signaling.md"), str(code)), f"close code {code} undocumented"


def test_every_published_event_is_documented() -> None:
    events = published_events()
    assert KNOWN_EVENTS <= events, f"the publish scan missed {sorted(KNOWN_EVENTS - events)}"
    text = read_doc("signaling.md")
    missing = sorted(name for name in events if not backticked(text, name))
    assert not missing, f"events missing from docs/signaling.md: {missing}"


@pytest.mark.parametrize("code", sorted(STATUS))
def test_every_http_error_code_is_documented_with_its_status(code: str) -> None:
    text = read_doc("http-api.md")
    row = re.compile(rf"^\|\s*`{re.escape(code)}`\s*\|\s*{STATUS[code]}\s*\|", re.MULTILINE)
    assert row.search(text), f"no row '| `{code}` | {STATUS[code]} |' in docs/http-api.md"


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(Config.for_data_dir(tmp_path))
    text = read_doc("http-api.md")
    routes = set()
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        assert route.resource is not None
        routes.add(f"{route.method} {route.resource.canonical}")
    assert "GET /ws" in routes, "route scan found no WebSocket route"
    missing = sorted(key for key in routes if f"`{key}`" not in text)
    assert not missing, f"routes missing from docs/http-api.md: {missing}"


def test_every_setting_is_documented() -> None:
    text = read_doc("operations.md")
    rows = settings_help(Config())
    assert rows
    missing = sorted(env for env, _name, _default, _help in rows if f"`{env}`" not in text)
    assert not missing, f"settings missing from docs/operations.md: {missing}"


def test_every_linked_document_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(((?:docs/)?[\w./-]+\.md)\)", readme))
    assert "docs/signaling.md" in linked
    missing = sorted(path for path in linked if not (ROOT / path).is_file())
    assert not missing, f"README links to missing documents: {missing}"


def test_changelog_has_an_unreleased_section() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(r"^## Unreleased$", changelog, re.MULTILINE)
