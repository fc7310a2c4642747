"""Import Great Expectations and register the suites on a background thread, once per process.

GE's import and context cost ~4 s in a fresh process, and every clip job validates only at its
end: started when the job starts, the import overlaps the media stages (ffmpeg and the detectors
run in other processes and threads) instead of delaying the publication. This module imports
nothing heavy itself, so starting the warm-up costs a clip job's start nothing.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

_started = False
_starting = threading.Lock()


def warm_up_in_background() -> None:
    """Start `clipmill.quality.validate.warm_up` on a daemon thread, the first time only.

    It holds `clipmill.quality.validate.GE_LOCK` while it imports GE, so a validation started
    meanwhile, in any thread, waits for it: a suite built from a half-imported GE fails ("expect_column_to_exist
    not found"). A warm-up that fails changes nothing: the validation imports GE itself and reports what is wrong.
    """
    global _started
    with _starting:
        if _started:
            return
        _started = True
    threading.Thread(target=_warm_up, name="clipmill-contracts-warm-up", daemon=True).start()


def _warm_up() -> None:
    try:
        from clipmill.quality.validate import warm_up

        warm_up()
    except Exception:  # noqa: BLE001 - the validation task raises the same error where a user sees it
        log.debug("data-contract warm-up failed; the validation will import Great Expectations itself", exc_info=True)
