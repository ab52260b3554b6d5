"""A project folder and what it holds: settings, storyboard, status, provenance, costs."""
