"""The HTTP API: a Bottle app over the same use cases as the command line."""
