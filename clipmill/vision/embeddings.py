"""Face-embedding arithmetic shared by the tracker and identity: unit rows, means, cosine distances.

Pure numpy, no model: :mod:`clipmill.vision.identity` produces embeddings, :mod:`clipmill.vision.tracking`
matches detections to tracks with them, and both measure them the same way here.
"""

from __future__ import annotations

import numpy as np

from clipmill.errors import InternalError

__all__ = ["cosine_distances", "track_embedding", "unit_rows"]


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, float32 (zero rows stay zero)."""
    vectors = np.asarray(vectors, np.float32)
    norm = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norm, out=np.zeros_like(vectors), where=norm > 0)


def track_embedding(embeddings: np.ndarray) -> np.ndarray:
    """One embedding for a track: the L2-normalised mean of its per-frame embeddings ``(K, D)``."""
    embeddings = np.asarray(embeddings, np.float32)
    if embeddings.ndim != 2 or not len(embeddings):
        raise InternalError(f"need a non-empty (K, D) array of embeddings, got shape {embeddings.shape}")
    return unit_rows(unit_rows(embeddings).mean(axis=0))


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise ``1 - cos`` between rows of ``a`` (N, D) and ``b`` (M, D), shape (N, M)."""
    return 1.0 - unit_rows(np.atleast_2d(a)).astype(np.float64) @ unit_rows(np.atleast_2d(b)).T.astype(np.float64)
