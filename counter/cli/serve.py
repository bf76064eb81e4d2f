"""``counter serve``: the teller console and JSON API under uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["register"]


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on / 监听地址")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port / 端口", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes; they share only the database / 进程数", min=1)
    ] = 1,
) -> None:
    """Serve the console and the API / 启动柜面系统与接口服务."""
    import uvicorn

    from counter.config import get_settings

    settings = get_settings()
    settings.check_secret()  # refuse before forking workers, with the message on the console
    uvicorn.run(
        "counter.web.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve)
