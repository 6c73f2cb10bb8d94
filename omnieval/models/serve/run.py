"""Start and stop `omnieval serve`: resolve the model alias, bind, run uvicorn, shut down cleanly.

`serve_main(...)` is what the `omnieval serve` command calls. It binds the port first (so a busy
port fails at once and `port=0` picks a free one), then loads the model in a worker thread while
the server already answers `/health` with `loading`. SIGTERM or SIGINT stops accepting
connections, lets the requests in flight finish (the batcher drains its queue), closes the model
and removes the server's media directory; a second SIGINT forces the exit.

`BackgroundServer` runs an app in a thread on a free port, for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from omnieval import registry
from omnieval.config import (
    ConfigError,
    ModelSpec,
    load_aliases,
    load_environment,
    load_plugins,
    resolve_model,
)
from omnieval.models.base import Model
from omnieval.models.serve.decode import LocalMediaPolicy

log = logging.getLogger("omnieval.serve")


class ModelLoadError(RuntimeError):
    """The served model could not be built; the server stopped."""


def serve_main(
    model: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    models_file: Path | None = None,
    env_file: Path | None = None,
    max_batch: int = 8,
    max_wait_ms: float = 5.0,
    api_key: str | None = None,
    max_body_mb: float = 200.0,
    *,
    plugins: Sequence[str] = (),
    local_media: Sequence[Path] | None = None,
    media_dir: Path | None = None,
    batches_in_flight: int = 1,
    shutdown_timeout_s: float | None = None,
    access_log: bool = False,
    log_level: str = "info",
) -> None:
    """Serve the model `model` until SIGTERM / SIGINT.

    `model` is an alias (built-in, or from `models_file`), or else the name of a registered
    provider (built with its default arguments).

    One process holds one model and its batcher (there is no `workers` option: several
    processes would each load the model and batch separately); to scale, run replicas on other
    ports and list them in one endpoint pool.

    `local_media`: directories whose files clients may name by `file://` URL; by default any
    file when the server listens on a loopback address, none otherwise. `media_dir`: where
    per-request media files are written (default: a new temporary directory, removed at exit;
    each request's files are removed after its response). `shutdown_timeout_s`
    bounds how long a shutdown waits for requests in flight (default: as long as they take).

    Raises `ConfigError` for a bad alias, models file, plugin or option, `ModelLoadError` when
    the model fails to build, and `OSError` when the address cannot be bound.
    """
    from omnieval.models.serve.app import ServeOptions, create_app

    uvicorn = _import_uvicorn()
    _check_options(max_batch, max_wait_ms, max_body_mb, batches_in_flight)
    load_plugins(plugins)
    env = load_environment(env_file)
    aliases = load_aliases(models_file, env)
    if model not in aliases and model in registry.models:
        # a registered provider name (e.g. from a plugin) serves with its default arguments
        spec = resolve_model({"provider": model, "alias": model}, aliases)
    else:
        spec = resolve_model(model, aliases)
    factory = _factory(spec)
    roots = (
        tuple(Path(p) for p in local_media)
        if local_media is not None
        else ((Path("/"),) if is_loopback(host) else ())
    )
    options = ServeOptions(
        alias=spec.alias,
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
        batches_in_flight=batches_in_flight,
        api_key=api_key or None,
        max_body_bytes=int(max_body_mb * 1024 * 1024),
        local_media=LocalMediaPolicy(roots),
        media_root=media_dir,
    )
    _setup_logging(log_level)
    failure: list[BaseException] = []
    server: Any = None

    def on_load_error(err: BaseException) -> None:
        failure.append(err)
        if server is not None:
            server.should_exit = True

    app = create_app(lambda: build_model(spec, factory), options, on_load_error)
    sock = bind_socket(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=(
            None if shutdown_timeout_s is None else max(1, round(shutdown_timeout_s))
        ),
    )
    server = uvicorn.Server(config)
    url = f"http://{_url_host(bound_host)}:{bound_port}"
    # Always printed (whatever the log level): scripts and tests read the URL from this line.
    print(
        f"omnieval serve: serving model {spec.alias!r} (provider {spec.provider!r}) on {url}; "
        f"OpenAI base_url {url}/v1; max_batch={max_batch}, max_wait_ms={max_wait_ms:g}"
        + (", API key required" if options.api_key else ""),
        file=sys.stderr,
        flush=True,
    )
    server.run(sockets=[sock])
    if failure:
        err = failure[0]
        raise ModelLoadError(
            f"model {spec.alias!r} (provider {spec.provider!r}) failed to load: "
            f"{type(err).__name__}: {err}"
        ) from err


# --------------------------------------------------------------------------- model


def _factory(spec: ModelSpec) -> Callable[..., object]:
    try:
        return registry.models.get(spec.provider)
    except registry.RegistryError as err:
        raise ConfigError(f"model {spec.alias!r}: {err}") from None


def build_model(spec: ModelSpec, factory: Callable[..., object] | None = None) -> Model:
    """Build the model a spec names (what the runner does, without importing the runner)."""
    factory = factory or _factory(spec)
    try:
        built = factory(**spec.init_args)
    except TypeError as err:
        names = sorted(spec.init_args)
        raise ConfigError(
            f"model {spec.alias!r} (provider {spec.provider!r}): bad init_args {names}: {err}"
        ) from None
    if not isinstance(built, Model):
        raise ConfigError(f"provider {spec.provider!r} built {type(built).__name__}, not a Model")
    return built


# --------------------------------------------------------------------------- sockets


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port); port 0 picks a free port."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise ConfigError(f"cannot resolve host {host!r}: {err}") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)  # IPv4 first, as clients try
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as err:
        sock.close()
        raise OSError(err.errno, f"cannot listen on {host}:{port}: {err.strerror}") from None
    sock.listen(2048)  # connections made before uvicorn starts wait in the backlog
    sock.set_inheritable(True)
    return sock


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# --------------------------------------------------------------------------- background


class BackgroundServer:
    """Run an ASGI app with uvicorn in a daemon thread on 127.0.0.1 (tests, benchmarks).

    ```python
    with BackgroundServer(create_app(model, ServeOptions(alias="m"))) as server:
        requests.get(server.url + "/health")
    ```
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **config: Any) -> None:
        uvicorn = _import_uvicorn()
        self._sock = bind_socket(host, port)
        bound_host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{_url_host(bound_host)}:{self.port}"
        settings: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "on"}
        settings.update(config)
        self.server = uvicorn.Server(uvicorn.Config(app, **settings))
        self._thread = threading.Thread(target=self._run, name="omnieval-serve", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve(sockets=[self._sock]))
        except BaseException as err:  # reported by start()
            self._error = err

    def start(self, timeout_s: float = 20.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the server thread stopped during startup: {self._error!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {timeout_s} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 20.0) -> None:
        self.server.should_exit = True
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.server.force_exit = True
            self._thread.join(5)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- helpers


def _import_uvicorn() -> Any:
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as err:
        raise ConfigError(
            f"omnieval serve needs FastAPI and uvicorn ({err.name} is missing): "
            "pip install 'omnieval[serve]'"
        ) from None
    return uvicorn


def _check_options(
    max_batch: int, max_wait_ms: float, max_body_mb: float, batches_in_flight: int
) -> None:
    if max_batch < 1:
        raise ConfigError(f"--max-batch must be at least 1, not {max_batch}")
    if max_wait_ms < 0:
        raise ConfigError(f"--max-wait-ms must not be negative, not {max_wait_ms}")
    if max_body_mb <= 0:
        raise ConfigError(f"--max-body-mb must be positive, not {max_body_mb}")
    if batches_in_flight < 1:
        raise ConfigError(f"batches_in_flight must be at least 1, not {batches_in_flight}")


def _setup_logging(level: str) -> None:
    logger = logging.getLogger("omnieval.serve")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("omnieval serve: %(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level.upper())
