"""gymhall: build, serve and run reinforcement-learning environments for LLM agents.

The public API is listed once, in `__init__.pyi`. Names are imported on first use, so `import gymhall`
stays fast and a command that needs no web server never loads one.
"""

import lazy_loader

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
