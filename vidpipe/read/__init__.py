"""The read side: status, summaries, the TinyDB index and the text views. It never imports
the build steps or the media engine."""
