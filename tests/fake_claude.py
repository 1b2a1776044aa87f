"""A stand-in for the CLI, for faults the real one will not produce on demand.

The prompt on stdin picks the behaviour. It prints stream-json like the CLI's where it prints
anything, and its result's text describes how it was called (argv, env, stdin).
"""

import json
import os
import sys


def result(text: str, **extra: object) -> str:
    event = {
        "type": "result",
        "subtype": "success",
        "is_error": False,
        "num_turns": 1,
        "result": text,
        "session_id": "fake",
        "total_cost_usd": 0.0,
        **extra,
    }
    return json.dumps(event)


def main() -> int:
    prompt = sys.stdin.read()
    out = sys.stdout
    if prompt == "echo":
        called = {"argv": sys.argv[1:], "env": dict(os.environ), "stdin": prompt}
        print(result(json.dumps(called)), flush=True)
    elif prompt == "garbage":
        print("[SandboxDebug] not json", flush=True)
        print('{"type": "system", "subtype": "init", "session_id": "fake"}', flush=True)
        out.buffer.write(b"\xff\xfe binary junk\n")
        print("[1, 2, 3]", flush=True)
        print(result("fine anyway"), flush=True)
    elif prompt == "garbage-only":
        print("Error: something went wrong before any event", flush=True)
        return 3
    elif prompt == "stderr-flood":
        # Far more than a pipe holds: a harness that does not drain stderr deadlocks here.
        chunk = b"x" * 65535 + b"\n"
        for _ in range(320):  # 20 MiB
            sys.stderr.buffer.write(chunk)
        sys.stderr.buffer.write(b"the last words\n")
        sys.stderr.flush()
        print(result("flooded"), flush=True)
    else:
        print(result(f"{len(prompt)} bytes on stdin"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
