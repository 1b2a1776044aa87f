"""``python -m runner mock-model``: serve a scripted model on 127.0.0.1 for the real CLI to run
against, logging each request on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from runner._cli.cmdline import HelpFormatter, absolute, port

# The model's server is imported when the command runs (start-up; issue 17).
if TYPE_CHECKING:
    from runner._model.mock_api import Exchange, ScriptedModel


def add_mock_model_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mm = sub.add_parser(
        "mock-model",
        help="serve a scripted model on 127.0.0.1 for the real CLI to run against",
        description="Serve the Anthropic Messages API (SSE streaming) on 127.0.0.1, answering "
        "each request with the script's next turn. Claude Code pointed at it runs its tools for "
        "real; only the model is scripted. Each CLI session gets the script from its start, with "
        "its own draw of the script's choices, so one server serves many runs. Logs each request "
        'on stderr; runs until Ctrl-C. The script format: README, "The scripted model".',
        epilog='example (README, "The scripted model"):\n'
        "  python -m runner mock-model --script fixtures/scripts/hello.json --port 8123\n"
        "  echo 'Say hello.' | ANTHROPIC_BASE_URL=http://127.0.0.1:8123 ANTHROPIC_API_KEY=any "
        "claude -p --output-format stream-json --verbose",
        formatter_class=HelpFormatter,
    )
    mm.add_argument(
        "--script", type=absolute, required=True, metavar="FILE", help="the script, a JSON file"
    )
    mm.add_argument(
        "--port",
        type=port,
        default=0,
        metavar="N",
        help="port to listen on; default 0: a free one",
    )
    mm.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the first session's seed for the script's choices (session n draws with N + n); "
        "default: the script's seed",
    )
    mm.set_defaults(func=_mock_model)


def _mock_model(args: argparse.Namespace) -> int:
    import anyio

    from runner._cli.cmdline import fail
    from runner._model.mock_api import ScriptedModel
    from runner._model.script import ScriptFileError, load_script

    try:
        script = load_script(args.script)
    except ScriptFileError as exc:
        return fail(str(exc))
    model = ScriptedModel(script, seed=args.seed, on_exchange=_log_exchange)
    return anyio.run(_serve_model, model, args.script, args.port, backend="asyncio")


async def _serve_model(model: ScriptedModel, source: str, port: int) -> int:
    """Serve until cancelled (Ctrl-C); 2 when the port cannot be bound."""
    from functools import partial

    import anyio

    from runner._cli.cmdline import fail
    from runner._model.http import serve
    from runner._util.figures import plural

    async with anyio.create_task_group() as tg:
        try:
            bound = await tg.start(partial(serve, model.handle, port=port))
        except OSError as exc:
            return fail(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})")
        url = f"http://127.0.0.1:{bound}"
        print(
            f"mock-model: serving {source} ({plural(model.turns_left, 'turn')}, "
            f"seed {model.base_seed}) "
            f"on {url}; use ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=any",
            flush=True,
        )
    return 0


def _log_exchange(x: Exchange) -> None:
    from runner._util.terminal import visible

    session = x.session[:8] if x.session else "-"
    outcome = "hangs" if x.status is None else str(x.status)
    line = f"{x.method} {x.path} session {session}{_turn_text(x)} -> {outcome}"
    print(visible(line), file=sys.stderr)  # the path and session are the client's to choose


def _turn_text(x: Exchange) -> str:
    if x.turn is None or x.turns is None:
        return ""  # the request took no turn
    where = f" {x.conversation}" if x.conversation is not None else ""
    if x.turn >= x.turns:
        return f"{where} turn {x.turn + 1}/{x.turns} (script used up)"
    return f"{where} turn {x.turn + 1}/{x.turns}"
