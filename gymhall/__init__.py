"""gymhall: build, serve and run reinforcement-learning environments for LLM agents."""

__version__ = "0.1.0"
