#!/usr/bin/env python3
"""What a person saw of a treesync run on a terminal, checked for readability.

    screen_check.py SCREEN NODES [FAILED] [COLUMNS]

SCREEN: the bytes treesync wrote to a pseudo-terminal (script -qc), its live
progress display and then its summary; NODES: how many nodes the run had;
FAILED: how many of them failed (0), the others loaded; COLUMNS: the
terminal's width (120). Checks, and exits 1 naming the first
that fails:
- every frame of the live display (the lines between a redraw's start and
  its clear-to-end) is at most 22 lines (20 nodes, "... more", the total),
  whatever NODES is, and no line of it is wider than the terminal; one
  that leaves nodes out ("... N more in progress") counts each unfinished
  stage ("by stage: 590 waiting, 8 connecting, ...");
- the last frame's total says NODES - FAILED done, FAILED failed;
- the summary (what follows the last frame) has its header, a row per node
  or, past 40 nodes, at most 40 rows and a line naming how many more there
  are (the "... N more" lines add up) and a row for each failed node up to
  20, the count line "NODES node(s): NODES - FAILED loaded, ..." and the source's
  bytes and cost; it is at most 50 lines.
Prints one line: the frames seen, the most lines in one, the summary's lines.
"""
import re
import sys

MAX_FRAME = 22
MAX_ROWS = 40
MAX_SUMMARY = 50


def fail(msg):
    sys.exit(f"screen_check: {msg}")


def main():
    path, nodes = sys.argv[1], int(sys.argv[2])
    failed = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    columns = int(sys.argv[4]) if len(sys.argv) > 4 else 120
    done = nodes - failed
    text = open(path, "rb").read().decode("utf-8", "replace").replace("\r\n", "\n")
    # A frame: its lines each start with clear-line (ESC[2K), it ends with clear-to-end (ESC[J).
    frames = []
    for chunk in text.split("\x1b[J")[:-1]:
        lines = [l for l in chunk.split("\x1b[2K")[1:]]
        if lines:
            frames.append([l.rstrip("\n") for l in lines])
    if not frames:
        fail("no live frame (was it a terminal?)")
    tallest = max(len(f) for f in frames)
    if tallest > MAX_FRAME:
        fail(f"a frame of {tallest} lines at {nodes} nodes (at most {MAX_FRAME})")
    wide = [l for f in frames for l in f if len(l) > columns]
    if wide:
        fail(f"a live line of {len(wide[0])} columns (the terminal has {columns}): {wide[0]!r}")
    unstaged = [f for f in frames if any("more in progress" in l for l in f) and not any(
        l.startswith("  by stage: ") for l in f)]
    if unstaged:
        fail(f"a frame leaves nodes out without the count per stage: {unstaged[0]!r}")
    total = frames[-1][-1]
    if not total.startswith(f"total: {done}/{nodes} done, {failed} failed"):
        fail(f"the last frame's total is {total!r}")
    summary = [re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", l) for l in text.rsplit("\x1b[J", 1)[1].split("\n")]
    summary = [l for l in summary if l.strip()]
    start = next((i for i, l in enumerate(summary) if l.startswith("NODE ")), None)
    if start is None:
        fail("no summary header (NODE HOST ...)")
    summary = summary[start:]
    count = next((i for i, l in enumerate(summary) if re.match(r"\d+ node\(s\): ", l)), None)
    want = f"{nodes} node(s): {done} loaded, 0 tagged, 0 skipped, {failed} failed"
    if count is None or summary[count] != want:
        fail(f"no count line '{want}' in the summary")
    rows = [l for l in summary[1:count] if re.match(r"node\S*\s", l)]
    if nodes <= MAX_ROWS and len(rows) != nodes:
        fail(f"{len(rows)} node rows for {nodes} nodes")
    failed_rows = sum(" failed " in l for l in rows)
    if failed_rows != min(failed, 20):
        fail(f"{failed_rows} failed rows for {failed} failed nodes")
    if nodes > MAX_ROWS:
        if len(rows) > MAX_ROWS:
            fail(f"{len(rows)} node rows at {nodes} nodes (at most {MAX_ROWS})")
        left_out = sum(int(m.group(1)) for l in summary[1:count] for m in [re.match(r"\.\.\. (\d+) more", l)] if m)
        if left_out != nodes - len(rows):
            fail(f"the '... N more' lines count {left_out} of the {nodes - len(rows)} nodes the rows leave out")
    if not any(l.startswith("source sent ") for l in summary[count:]):
        fail("no 'source sent' line after the count")
    if not re.match(r"source: [0-9.]+ s CPU, ", summary[-1]):
        fail(f"the summary does not end with the source's cost: {summary[-1]!r}")
    if len(summary) > MAX_SUMMARY:
        fail(f"a summary of {len(summary)} lines at {nodes} nodes (at most {MAX_SUMMARY})")
    print(f"{len(frames)} frames of at most {tallest} lines; a summary of {len(summary)} lines, {len(rows)} node rows")


if __name__ == "__main__":
    main()
