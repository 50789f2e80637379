"""`code`: Python code generation graded by hidden unit tests run in a sandbox."""
