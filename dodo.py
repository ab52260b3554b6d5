"""vidpipe's command line (run `doit list` in this folder for the commands)."""

from vidpipe.tasks import *  # noqa: F403
