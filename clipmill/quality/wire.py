"""The frames the contracts processes are sent and reply with: one pickled value, its length first."""

from __future__ import annotations

import pickle
from typing import IO, Any


def write_frame(stream: IO[bytes] | None, value: Any) -> None:
    """One pickled value, its length first."""
    assert stream is not None
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "big") + data)
    stream.flush()


def read_frame(stream: IO[bytes] | None) -> Any:
    """The value `write_frame` wrote; EOFError at the end of the stream."""
    assert stream is not None
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError("the stream ended")
    data = stream.read(int.from_bytes(header, "big"))
    return pickle.loads(data)
