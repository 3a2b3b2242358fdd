"""For operators and analysts: the main job (a list of steps), status, the data-quality
report and the SQL prompt."""
