"""The media engine: ffmpeg and PyAV. The one clip format, the Ken Burns renderer, the stitch
and the audio splice. It imports nothing of vidpipe above it (only errors)."""
