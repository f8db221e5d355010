"""Launcher that times one whole process: `python -I -S spawn.py OUT_FILE -- COMMAND...`.

It prints {"wall_s", "cpu_s", "rss_kb", "returncode"} and leaves the command's stdout
in OUT_FILE. It exists so that the measured process is the child of a small process:
Linux starts a child's `ru_maxrss` at its parent's RSS (fork/vfork then exec), so a
child of the (bigger) benchmark runner would report the runner's size. This launcher
stays near 10 MB, below any `statelane` process. Standard library only.
"""

import json
import os
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    out_file, separator, command = argv[0], argv[1], argv[2:]
    if separator != "--" or not command:
        print("usage: spawn.py OUT_FILE -- COMMAND...", file=sys.stderr)
        return 2
    with open(out_file, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    print(
        json.dumps(
            {
                "wall_s": wall,
                "cpu_s": usage.ru_utime + usage.ru_stime,
                "rss_kb": usage.ru_maxrss,
                "returncode": process.returncode,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
