"""What a backend says when its model or package is missing: one wording for every backend.

Weights are never fetched at run time: a backend whose model is a local path reads it from a
setting (`local_model`), and one that needs an optional package says how to install it
(`missing_package`). Either way the `ModelUnavailable` names what is missing and how to supply it.
"""

from __future__ import annotations

from pathlib import Path

from clipmill.errors import ModelUnavailable


def local_model(
    what: str, path: str | Path | None, *, setting: str, model: str = "model", fallback: str | None = None,
    file_only: bool = False,
) -> Path:
    """`path` as a `Path` when it holds a model (a file, or with `file_only` False a folder too).

    Parameters
    ----------
    what
        The backend, as the user chose it: ``"VAD backend 'pyannote'"``.
    setting
        Where the path comes from: ``"the environment variable CLIPMILL_PYANNOTE_MODEL"``.
    model
        What the path must hold: ``"segmentation checkpoint (a pyannote pytorch_model.bin)"``.
    fallback
        What to do instead, e.g. ``"choose --vad silero"``.
    """
    supply = f"set {setting} to its local path" + (f", or {fallback}" if fallback else "")
    if not path:
        raise ModelUnavailable(f"{what} needs a local {model}: {supply}")
    path = Path(path)
    if not (path.is_file() if file_only else path.exists()):
        raise ModelUnavailable(
            f"{what}: {model} not found at {str(path)!r} (from {setting}): copy it there, or {supply}"
        )
    return path


def missing_package(
    what: str, package: str, *, install: str, error: ImportError | None = None, fallback: str | None = None
) -> ModelUnavailable:
    """The error for a backend whose Python package is not installed (raise it ``from`` the `ImportError`)."""
    cause = f" ({error})" if error is not None else ""
    return ModelUnavailable(
        f"{what} needs the {package} package{cause}: {install}" + (f"; or {fallback}" if fallback else "")
    )
