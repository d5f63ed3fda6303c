"""The composed configuration: a frozen dataclass per package, overridable from the environment."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.settings import (
    CaseSettings,
    DocumentSettings,
    HallSettings,
    MeetingSettings,
    QueueSettings,
    ThrottleSettings,
)
from recording.settings import RecordingSettings
from signaling.settings import SignalingSettings


@dataclass(frozen=True, slots=True)
class WebSettings:
    """HTTP server settings."""

    host: str = field(default="127.0.0.1", metadata={"help": "Address to listen on."})
    port: int = field(default=8080, metadata={"help": "TCP port to listen on."})
    trust_forwarded_for: bool = field(
        default=False,
        metadata={
            "help": "Take the client address from the last X-Forwarded-For entry (set it only "
            "behind a reverse proxy that writes that header); used by the login and public "
            "query throttling."
        },
    )
    secure_cookies: bool = field(
        default=False,
        metadata={"help": "Mark session cookies Secure (set it when served over HTTPS)."},
    )
    max_body_bytes: int = field(
        default=1_048_576, metadata={"help": "Largest accepted JSON request body (bytes)."}
    )


@dataclass(frozen=True, slots=True)
class Config:
    """Everything `create_app` needs; defaults give the embedded demo mode."""

    web: WebSettings = field(default_factory=WebSettings)
    hall: HallSettings = field(default_factory=HallSettings)
    queue: QueueSettings = field(default_factory=QueueSettings)
    case: CaseSettings = field(default_factory=CaseSettings)
    signaling: SignalingSettings = field(default_factory=SignalingSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    throttle: ThrottleSettings = field(default_factory=ThrottleSettings)
    meeting: MeetingSettings = field(default_factory=MeetingSettings)

    @classmethod
    def for_data_dir(cls, data_dir: Path, **sections: Any) -> Config:
        """A config whose database, recordings and documents live under `data_dir`."""
        data_dir = data_dir.resolve()
        hall = sections.pop("hall", HallSettings())
        recording = sections.pop("recording", RecordingSettings())
        documents = sections.pop("documents", DocumentSettings())
        return cls(
            hall=dataclasses.replace(hall, data_dir=data_dir),
            recording=dataclasses.replace(recording, directory=data_dir / "recordings"),
            documents=dataclasses.replace(documents, directory=data_dir / "documents"),
            **sections,
        )


def _convert(value: str, current: Any) -> Any:
    if isinstance(current, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(current, int):
        return int(value)
    if isinstance(current, float):
        return float(value)
    if isinstance(current, Path):
        return Path(value)
    if isinstance(current, tuple):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    return value


def env_name(section: str, name: str) -> str:
    """The environment variable of a setting: JIEFANG_<SECTION>_<NAME>."""
    return f"JIEFANG_{section.upper()}_{name.upper()}"


def from_env(base: Config, environ: Mapping[str, str] | None = None) -> Config:
    """`base` with every JIEFANG_<SECTION>_<NAME> variable of the environment applied."""
    environ = os.environ if environ is None else environ
    sections: dict[str, Any] = {}
    for section_field in dataclasses.fields(base):
        section = getattr(base, section_field.name)
        changes = {
            f.name: _convert(
                environ[env_name(section_field.name, f.name)], getattr(section, f.name)
            )
            for f in dataclasses.fields(section)
            if env_name(section_field.name, f.name) in environ
        }
        sections[section_field.name] = dataclasses.replace(section, **changes)
    return Config(**sections)


def settings_help(config: Config) -> list[tuple[str, str, Any, str]]:
    """Every setting as (environment variable, section.name, default, help)."""
    rows = []
    for section_field in dataclasses.fields(config):
        section = getattr(config, section_field.name)
        for f in dataclasses.fields(section):
            rows.append(
                (
                    env_name(section_field.name, f.name),
                    f"{section_field.name}.{f.name}",
                    getattr(section, f.name),
                    str(f.metadata.get("help", "")),
                )
            )
    return rows
