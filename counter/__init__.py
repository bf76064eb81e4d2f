"""counter: a workflow engine for bank branch counters.

A teller opens a *case* for the customer at the counter and walks it through a
declarative workflow (``workflows/*.yaml``); findings that need a second pair
of eyes go to a supervisor; every step lands in a hash-chained journal; the
customer leaves with a printed slip.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
