"""Settings: defaults → optional config file → ``CLIPMILL_*`` environment → per-run parameters.

`Settings` holds what belongs to the installation (object store, working folders, retries,
encoder defaults); `ClipOptions` holds what a single clip request may change. Per-run
parameters always win over the installation's defaults, which is what `effective_options` does.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from clipmill.errors import InputError

CONFIG_FILE_ENV = "CLIPMILL_CONFIG"
DEFAULT_CONFIG_FILE = "clipmill.toml"

#: Widest (and, inverted, narrowest) aspect ratio a reframe may ask for: 4:1 holds 32:9 panoramas
#: and 1:4 any portrait format; beyond that a crop of ordinary video is a sliver a few pixels high.
MAX_REFRAME_ASPECT = 4
#: S3's bucket naming rules (the common subset of AWS, MinIO and SeaweedFS).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")

X264_PRESETS = (
    "ultrafast", "superfast", "veryfast", "faster", "fast",
    "medium", "slow", "slower", "veryslow",
)


class ClipOptions(BaseModel):
    """Options one clip request may set. Unknown names are rejected, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _consistent(self) -> "ClipOptions":
        if self.remove_silence and self.speed_up_silence:
            raise ValueError("remove_silence and speed_up_silence exclude each other: set remove_silence=false")
        if self.reframe != "none":
            width, sep, height = self.reframe.partition(":")
            if not (sep and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
                raise ValueError(f"reframe must be none or W:H with positive integers, e.g. 9:16 (got {self.reframe!r})")
            if not 1 / MAX_REFRAME_ASPECT <= int(width) / int(height) <= MAX_REFRAME_ASPECT:
                raise ValueError(
                    f"reframe {self.reframe!r} is too narrow or too wide: W:H must lie between "
                    f"1:{MAX_REFRAME_ASPECT} and {MAX_REFRAME_ASPECT}:1"
                )
        if self.transcript and self.transcription != "none":
            raise ValueError("transcript and transcription=whisper exclude each other: give a file or transcribe")
        if self.captions != "none" and not self.transcript and self.transcription == "none":
            raise ValueError(
                f"captions={self.captions} needs a transcript: set transcript to an SRT, WebVTT or JSON words file, "
                "or transcription=whisper"
            )
        return self

    @property
    def used_filler_backend(self) -> str:
        """The filler backend a job runs: ``auto`` is the precise ``ensemble`` when fillers are cut
        (the acoustic detector alone cuts into words, README quality table) and the fast
        ``acoustic`` when they are only reported; an explicit backend is honoured."""
        if self.filler_backend != "auto":
            return self.filler_backend
        return "ensemble" if self.remove_fillers else "acoustic"

    crf: int = Field(20, ge=0, le=51, description="x264 constant rate factor: lower is better quality, bigger file.")
    preset: Literal[X264_PRESETS] = Field("veryfast", description="x264 speed/size trade-off.")
    audio_bitrate_kbps: int = Field(160, ge=32, le=512, description="AAC bitrate of the clip's audio.")
    vad_backend: Literal["silero", "webrtc", "energy", "pyannote"] = Field(
        "silero", description="Voice activity detector: silero (default), webrtc, energy (no model), pyannote (local model)."
    )
    min_silence_s: float = Field(
        0.3, ge=0.05, le=30.0, description="Pauses shorter than this are natural rhythm and never reported as silence."
    )
    padding_s: float = Field(0.1, ge=0.0, le=2.0, description="Audio kept around speech at each silence edge.")
    threshold_db: float = Field(
        -35.0, ge=-100.0, le=0.0, description="Silence level in dBFS when adaptive_threshold is off."
    )
    adaptive_threshold: bool = Field(
        True, description="Derive the silence level from the measured noise floor instead of threshold_db."
    )
    filler_backend: Literal["auto", "acoustic", "ensemble", "transcription"] = Field(
        "auto",
        description="Filler detector: auto (acoustic while fillers are only reported, ensemble when remove_fillers "
        "cuts them), acoustic (no model, fast; cuts into some words), ensemble (acoustic + pocketsphinx's phone "
        "decoder, its model ships in the package; about 35x the acoustic's CPU) or transcription (local Whisper model).",
    )
    remove_silence: bool = Field(True, description="Cut pauses of at least min_silence_s out of the clip.")
    speed_up_silence: bool = Field(
        False, description="Play pauses faster (speed_factor) instead of cutting them; excludes remove_silence."
    )
    speed_factor: float = Field(2.0, gt=1.0, le=16.0, description="Playback speed of sped-up pauses.")
    max_silence_s: float | None = Field(
        None, gt=0.0, le=60.0,
        description="Longest pause left in the clip, whatever the mode (longer ones are shortened); unset: "
        "kept or sped-up pauses stay whole.",
    )
    remove_fillers: bool = Field(False, description='Cut detected filler sounds ("um", "uh").')
    detect_faces: bool = Field(True, description="Detect and track faces (needed for reframing; recorded in the manifest).")
    face_sampling: Literal["uniform", "motion", "keyframe", "adaptive"] = Field(
        "uniform",
        description="Which frames the face detectors see: uniform (5 per second), motion-driven, the file's key "
        "frames and shot cuts, or adaptive (more often while faces are uncertain or moving).",
    )
    framing_two_people: Literal["speaker", "widest"] = Field(
        "speaker",
        description="With several faces: follow the speaker, or the widest window holding all (blurred bars if needed).",
    )
    framing_no_face: Literal["centre", "letterbox"] = Field(
        "centre", description="Without a face: centre crop, or the whole frame over a blurred copy of itself."
    )
    face_identity: Literal["none", "dlib", "arcface"] = Field(
        "none", description="Join one person's face tracks across cuts by embedding: dlib (clipmill[faces]) or "
        "arcface (CLIPMILL_ARCFACE_MODEL)."
    )
    reframe: str = Field(
        "none", description="Target aspect ratio W:H (9:16, 1:1, 4:5, 16:9, ...) framed around the speaker, or none."
    )
    allow_truncated: bool = Field(
        False, description="Cut from a truncated source's data instead of refusing it (the range must lie inside it)."
    )
    allow_decode_errors: bool = Field(
        False, description="Publish although the source has decode errors in the range (counted in the manifest)."
    )
    export_otio: bool = Field(
        False, description="Also publish the cut and crop path as an OpenTimelineIO file (clipmill[otio])."
    )
    transcript: str | None = Field(
        None, max_length=1024,
        description="Transcript of the source (SRT, WebVTT or JSON words; local path or s3://), times on the source's "
        "timeline: cuts never enter a timed word, its filler words are what remove_fillers cuts, captions follow it.",
    )
    transcription: Literal["none", "whisper"] = Field(
        "none", description="Without a transcript file: transcribe the range with the local Whisper model "
        "(CLIPMILL_WHISPER_MODEL), words timed.",
    )
    captions: Literal["none", "srt", "vtt", "burn"] = Field(
        "none", description="Captions from the transcript, re-timed to the cut: a .srt or .vtt beside the clip, or "
        "burned into the video (with a .srt beside it).",
    )
    caption_highlight: bool = Field(False, description="Burned-in captions: the word being spoken in yellow (timed words).")
    clip_name: str | None = Field(
        None,
        max_length=80,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="Name of the published clip (letters, digits, . _ -); derived from the source when empty.",
    )


#: Options that change what the analysis finds; the others only change the edit and the encode,
#: so a job that differs only in those reuses the stored analysis (``filler_backend`` counts as
#: `ClipOptions.used_filler_backend`, which ``remove_fillers`` moves when it is ``auto``).
ANALYSIS_OPTIONS = (
    "vad_backend", "min_silence_s", "padding_s", "threshold_db", "adaptive_threshold", "filler_backend",
    "detect_faces", "face_sampling", "face_identity",
)


class StorageSettings(BaseModel):
    """Where intermediates and clips live. No endpoint means: start the embedded SeaweedFS."""

    endpoint: str | None = Field(None, description="host:port of an S3 endpoint (MinIO, AWS, SeaweedFS).")
    access_key: str | None = None
    secret_key: SecretStr | None = None
    bucket: str = "clipmill"
    secure: bool = False
    region: str | None = None
    block: str | None = Field(None, description="Name of a saved `clipmill-object-store` Prefect block to use instead.")
    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)

    @field_validator("bucket")
    @classmethod
    def _s3_bucket_name(cls, value: str) -> str:
        """Refused here, not by the store after a job's retries (S3's naming rules)."""
        if not BUCKET_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not an S3 bucket name: 3-63 lowercase letters, digits, dots and "
                             "hyphens, beginning and ending with a letter or digit")
        return value


class Settings(BaseSettings):
    """Installation-wide settings, read from ``clipmill.toml`` and ``CLIPMILL_*`` variables.

    Nested values use ``__``: ``CLIPMILL_STORAGE__ENDPOINT=minio:9000``,
    ``CLIPMILL_OPTIONS__CRF=23``.
    """

    model_config = SettingsConfigDict(
        env_prefix="CLIPMILL_", env_nested_delimiter="__", extra="forbid"
    )

    home: Path = Field(Path(".clipmill"), description="Working folder: embedded store data, caches, temp files.")
    storage: StorageSettings = StorageSettings()
    options: ClipOptions = ClipOptions()
    source_roots: list[Path] = Field(
        default_factory=list,
        description="Folders local sources must be under (empty: any readable path). s3:// sources must be in "
        "source_buckets.",
    )
    source_buckets: list[str] = Field(
        default_factory=list, description="Buckets s3:// sources may come from (empty: only the storage bucket)."
    )
    task_retries: int = Field(3, ge=0, le=20, description="Retries of storage and tool failures per task.")
    retry_backoff_s: float = Field(2.0, ge=0, description="First retry delay; doubles on each retry.")
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    @property
    def temp_dir(self) -> Path:
        """Scratch space for ffmpeg outputs before they are uploaded."""
        return self.home / "tmp"

    @property
    def cache_dir(self) -> Path:
        """Local copies of object-store sources, keyed by content."""
        return self.home / "cache"


def config_file() -> Path:
    """The settings file read: ``CLIPMILL_CONFIG`` or ``clipmill.toml`` in the working folder."""
    return Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


def load_settings() -> Settings:
    """Read the settings, turning a bad value or an unreadable settings file into an `InputError`
    of one line that names the file (when one is read) and the value."""
    path = config_file()
    origin = f" (from {str(path)!r} and CLIPMILL_* variables)" if path.is_file() else ""
    try:
        return Settings()
    except ValidationError as exc:
        raise InputError(f"invalid clipmill settings{origin}: {_describe(exc)}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"settings file {str(path)!r} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"settings file {str(path)!r} cannot be read: {exc}") from exc


def effective_options(base: ClipOptions, overrides: dict[str, Any] | ClipOptions | None) -> ClipOptions:
    """Apply per-run overrides on top of the installation's default options."""
    if overrides is None:
        return base
    given = overrides.model_dump(exclude_unset=True) if isinstance(overrides, ClipOptions) else dict(overrides)
    try:
        return ClipOptions.model_validate({**base.model_dump(exclude_unset=True), **given})
    except ValidationError as exc:
        raise InputError(f"invalid clip options: {_describe(exc)}; known options: {', '.join(ClipOptions.model_fields)}") from exc


def _describe(exc: ValidationError) -> str:
    """One line per problem: the dotted field name, what is wrong, and the value given."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "value"
        message = "unknown option" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{where}: {message} (got {error.get('input')!r})")
    return "; ".join(parts)
