"""Editing: the edit plan (what to keep, cut or speed up) and the one-pass ffmpeg render of it."""
