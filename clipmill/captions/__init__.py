"""Captions that follow the cut: transcripts in (parse), cues re-timed and laid out (cues), SRT/WebVTT
(formats) and burned-in ASS (ass) out. Pure code and library adapters; no Prefect, no object store."""
