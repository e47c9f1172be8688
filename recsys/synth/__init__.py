"""Synthetic playlist click logs with planted structure (generator.py), as MPD-shaped slices (mpd.py), and the
command line that writes them (``python -m recsys.synth``, __main__.py)."""

from recsys.synth.generator import Catalogue, SynthConfig, SynthLog, generate, playlist_batch, track_table

__all__ = ["Catalogue", "SynthConfig", "SynthLog", "generate", "playlist_batch", "track_table"]
