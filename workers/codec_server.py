"""`saksflyt codec-server`: sealed payloads opened for those who may read them.

Temporal UI and the `temporal` CLI show a case's inputs, signals and results only as ciphertext
(workers/codec.py). A case handler whose UI or CLI points at this server (`--ui-codec-endpoint`,
`temporal ... --codec-endpoint URL --codec-auth "Bearer TOKEN"`) reads them decoded: it speaks
Temporal's remote-codec protocol (POST `/decode` and `/encode`, a JSON `{"payloads": [...]}` in
proto JSON, the namespace in `X-Namespace`), answers the UI's CORS preflight from its own origin,
and opens payloads only for a request with one of the configured bearer tokens. With no token
configured it serves loopback only (`saksflyt dev`, where the UI runs on the same machine), and
refuses to start elsewhere. It logs who asked for how many payloads, never what they held.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

import structlog
import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload, Payloads

from workers.codec import CodecKeyError, EncryptionCodec
from workers.settings import LOOPBACK, Settings

log = structlog.get_logger(__name__)


def create_app(settings: Settings) -> FastAPI:
    codec = EncryptionCodec(settings.codec_keys_for_use(), settings.codec_active_key)
    tokens = [token.get_secret_value().encode() for token in settings.codec_server_tokens]
    if not tokens and settings.codec_server_host not in LOOPBACK:
        raise ValueError(
            f"the codec server would open cases to anyone at {settings.codec_server_host}: "
            "set SAKSFLYT_CODEC_SERVER_TOKENS"
        )
    app = FastAPI(title="saksflyt codec server", docs_url=None, redoc_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.codec_origins,
        allow_methods=["POST"],
        allow_headers=["Content-Type", "X-Namespace", "Authorization"],
        allow_credentials=True,
    )

    async def authorised(request: Request) -> None:
        if not tokens:
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").encode()
        if not any(hmac.compare_digest(given, token) for token in tokens):
            raise HTTPException(status_code=401, detail="missing or wrong bearer token")

    def endpoint(
        name: str, transform: Callable[[Sequence[Payload]], Awaitable[list[Payload]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            try:
                payloads = json_format.Parse(await request.body(), Payloads())
                result = Payloads(payloads=await transform(list(payloads.payloads)))
            except (json_format.ParseError, DecodeError, UnicodeDecodeError):
                raise HTTPException(status_code=400, detail="the body is no payload list") from None
            except CodecKeyError as error:
                raise HTTPException(status_code=422, detail=str(error)) from None
            log.info(
                f"codec.{name}",
                namespace=request.headers.get("x-namespace"),
                payloads=len(result.payloads),
            )
            return Response(json_format.MessageToJson(result), media_type="application/json")

        return handle

    for name, transform in (("decode", codec.decode), ("encode", codec.encode)):
        app.add_api_route(
            f"/{name}",
            endpoint(name, transform),
            methods=["POST"],
            dependencies=[Depends(authorised)],
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def run(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.codec_server_host,
        port=settings.codec_server_port,
        log_config=None,  # structlog's handler (workers/logging.py) renders every line
        access_log=False,  # its own line per request says how many payloads, never which
    )
