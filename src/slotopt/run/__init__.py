"""Run layer: solve(), result folders, studies, reports and the CLI. Only this layer writes
outputs, talks to the terminal, or starts processes."""
