"""vidpipe's command line (run `doit list` in this folder for the commands)."""

from vidpipe.cli.doit_tasks import *  # noqa: F403
