"""Settings of the recording package: where files go, how the recorder and ffmpeg jobs behave."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Recording settings; every field has a help string (shown by the CLI and the docs)."""

    directory: Path = field(
        default=Path("var/recordings"),
        metadata={"help": "Directory for recordings (participant files, composites, thumbnails)."},
    )
    audio_only_after_s: float = field(
        default=5.0,
        metadata={
            "help": "Seconds the recorder waits for a participant's first video keyframe before "
            "it opens that participant's file with audio only."
        },
    )
    composite_width: int = field(
        default=640,
        metadata={"help": "Width in pixels of each participant's tile in the composite video."},
    )
    composite_height: int = field(
        default=480,
        metadata={"help": "Height in pixels of each participant's tile in the composite video."},
    )
    composite_fps: int = field(default=30, metadata={"help": "Frame rate of the composite video."})
    composite_video_bitrate: str = field(
        default="1M", metadata={"help": "Target VP8 bitrate of the composite (ffmpeg syntax)."}
    )
    composite_audio_bitrate: str = field(
        default="64k", metadata={"help": "Target Opus bitrate of the composite (ffmpeg syntax)."}
    )
    ffmpeg: str = field(
        default="ffmpeg", metadata={"help": "ffmpeg binary name or path used by post-processing."}
    )
    ffprobe: str = field(
        default="ffprobe",
        metadata={"help": "ffprobe binary name or path used by post-processing."},
    )
    nice: str = field(
        default="nice",
        metadata={"help": "nice binary; ffmpeg jobs run under it so live calls keep the CPU."},
    )
    niceness: int = field(
        default=10, metadata={"help": "Niceness increment for ffmpeg jobs (0-19)."}
    )
    keep_participant_files: bool = field(
        default=True,
        metadata={
            "help": "Keep each participant's own file after the composite is made; when false "
            "they are deleted once the composite has been verified."
        },
    )

    def __post_init__(self) -> None:
        if self.composite_width <= 0 or self.composite_height <= 0:
            raise ValueError(
                f"composite size must be positive, not {self.composite_width}x"
                f"{self.composite_height}"
            )
        if self.composite_width % 2 or self.composite_height % 2:
            raise ValueError(
                f"composite size must be even for yuv420p, not {self.composite_width}x"
                f"{self.composite_height}"
            )
        if not 0 <= self.niceness <= 19:
            raise ValueError(f"niceness must be within 0..19, not {self.niceness}")
        if self.composite_fps <= 0:
            raise ValueError(f"composite_fps must be positive, not {self.composite_fps}")
