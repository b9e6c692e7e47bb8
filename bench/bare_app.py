"""The baseline of part 2: a bare Starlette endpoint that reads the body and answers 202.

``python -m bench.bare_app PORT`` serves it exactly as ``autoclock webhooks`` serves the
receiver: ``uvicorn.run(app, workers=1, log_config=None, access_log=False)``.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["app"]


async def hook(request: Request) -> Response:
    await request.body()
    return JSONResponse({"status": "accepted"}, status_code=202)


app = Starlette(routes=[Route("/hooks/{source}", hook, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app, host="127.0.0.1", port=int(sys.argv[1]), workers=1, log_config=None, access_log=False
    )
