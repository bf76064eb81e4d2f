"""The FastAPI app: the JSON API under ``/api`` and the teller console (HTML).

``create_app()`` builds it (uvicorn runs ``counter.web.app:create_app`` with
``factory=True``). The web layer holds no business rule: routes turn HTTP
into desk calls, errors into the one JSON error shape or a console page, and
mask every personal value they show.
"""

from counter.web.app import create_app

__all__ = ["create_app"]
