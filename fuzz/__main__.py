"""``python -m fuzz``: every fuzz target for a fixed number of inputs from a fixed seed.

::

    python -m fuzz                       # all targets, their default counts (make fuzz)
    python -m fuzz session --inputs 500  # one target, another count
    python -m fuzz --seed 7              # another fixed seed
    python -m fuzz redactor --atheris -runs=100000   # coverage-guided, if atheris is installed

It prints one line of figures per target and a total, and exits 1 at the first broken
invariant (Hypothesis prints the shrunk input and how to reproduce it).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from fuzz.commands import DIALOGUE, REDACTOR, SASL
from fuzz.engine import KNOWN_BUGS, Result, Target, run, run_atheris
from fuzz.messages import MESSAGES
from fuzz.replies import PERSONA, REPLIES
from fuzz.session import BURST, SESSION

TARGETS: dict[str, Target] = {
    target.name: target
    for target in (REPLIES, PERSONA, DIALOGUE, SASL, REDACTOR, SESSION, BURST, MESSAGES)
}


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("targets", nargs="*", choices=[[], *TARGETS], metavar="TARGET")
    parser.add_argument("--inputs", type=int, help="inputs per target (default: its own)")
    parser.add_argument("--seed", type=int, default=0, help="the fixed seed (default 0)")
    parser.add_argument("--atheris", action="store_true", help="one target, with atheris")
    arguments, rest = parser.parse_known_args(argv)
    chosen = [TARGETS[name] for name in arguments.targets] or list(TARGETS.values())
    # aiosmtpd warns about every unknown command on its "mail.log" logger; garbage is the point.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    if arguments.atheris:
        if len(chosen) != 1:
            parser.error("--atheris takes exactly one target")
        run_atheris(chosen[0], rest)
    elif rest:
        parser.error(f"unknown arguments: {' '.join(rest)}")
    print(f"fuzzing {len(chosen)} target(s), seed {arguments.seed}", flush=True)
    started = time.perf_counter()
    results: list[Result] = []
    for target in chosen:
        print(f"  {target.name}: {target.about}", flush=True)
        results.append(run(target, inputs=arguments.inputs, seed_value=arguments.seed))
        print(f"    {results[-1].line()}", flush=True)
    total = sum(result.inputs for result in results)
    print(f"total: {total} inputs in {time.perf_counter() - started:.1f} s, no invariant broken")
    hits = {name for result in results for name in result.known_bugs}
    for name in sorted(hits):
        print(f"known bug {name!r} was hit; it is recorded as {KNOWN_BUGS[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
