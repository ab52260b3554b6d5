"""The build: the task graph of a project, its steps, the estimate, the runner, the reporter
and the dependency DB."""
