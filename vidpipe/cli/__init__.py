"""The command line: `vidpipe ...` and the doit tasks of the repository's dodo.py."""
