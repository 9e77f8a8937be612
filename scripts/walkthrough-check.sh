#!/usr/bin/env bash
# Runs README.md's copy-paste walk — exactly its lines, in order, in one bash — against the
# stack at WXLOGIN_API_URL and WXLOGIN_SANDBOX_URL (what `scripts/dev.sh --run` exports;
# `scripts/dev.sh --check` and `make test` run this). Each command must exit 0 and write
# nothing to stderr; a command with a `# {…}` comment (trailing, or alone on the next line)
# must print one JSON value with the same keys and equal values, `…` matching anything;
# a command without one must print nothing. The first difference stops the run, non-zero.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

: "${WXLOGIN_API_URL:?set WXLOGIN_API_URL (scripts/dev.sh --run exports it)}"
: "${WXLOGIN_SANDBOX_URL:?set WXLOGIN_SANDBOX_URL (scripts/dev.sh --run exports it)}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
walkthrough "$WXLOGIN_API_URL" "$WXLOGIN_SANDBOX_URL" >"$work/walk.sh"
# README.md line of the walk's first line (after the marker and the fence), for messages.
first_line=$(($(grep -n '<!-- walkthrough:start -->' README.md | head -n1 | cut -d: -f1) + 2))

python3 - "$work" "$first_line" "$WXLOGIN_API_URL" "$WXLOGIN_SANDBOX_URL" <<'PY'
import json, os, re, select, shlex, subprocess, sys, time

work, first_line, api, sandbox = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(os.path.join(work, "walk.sh"), encoding="utf-8").read().splitlines()
STEP_SECONDS = 300
TRAILING = re.compile(r"^(?P<command>.*\S)\s+#\s*(?P<expected>\{.*\})\s*$", re.S)
ALONE = re.compile(r"^\s*#\s*(?P<expected>\{.*\})\s*$")


def fail(message):
    print(f"\nwalkthrough check FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def expectation(text, line):
    """A `# {…}` comment as JSON; a bare … (a value that varies) becomes "…"."""
    try:
        return json.loads(re.sub(r"(?<=[:,\[])(\s*)…(?=\s*[,}\]])", r'\1"…"', text))
    except ValueError as err:
        fail(f"README.md line {line}: the expected answer is not JSON ({err}): {text}")


def mismatch(expected, actual, path="answer"):
    """Why `actual` does not match `expected`, or None."""
    if expected == "…":
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {json.dumps(actual, ensure_ascii=False)}"
        missing, extra = expected.keys() - actual.keys(), actual.keys() - expected.keys()
        if missing or extra:
            return f"{path}: keys differ (missing {sorted(missing)}, not in the README {sorted(extra)})"
        return next((why for key in expected
                     if (why := mismatch(expected[key], actual[key], f"{path}.{key}"))), None)
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return f"{path}: expected {json.dumps(expected, ensure_ascii=False)}, got {json.dumps(actual, ensure_ascii=False)}"
        return next((why for i, (e, a) in enumerate(zip(expected, actual))
                     if (why := mismatch(e, a, f"{path}[{i}]"))), None)
    if type(expected) is not type(actual) or expected != actual:
        return f"{path}: expected {json.dumps(expected, ensure_ascii=False)}, got {json.dumps(actual, ensure_ascii=False)}"
    return None


# Commands (a trailing `\` continues one onto the next line), each with its expected answer.
steps, pending = [], None
for index, line in enumerate(lines):
    number = first_line + index
    if pending is not None:
        pending["command"] += "\n" + line
    elif not line.strip():
        continue
    elif match := ALONE.match(line):
        if not steps or steps[-1]["expected"] is not None:
            fail(f"README.md line {number}: an expected answer with no command of its own above it")
        steps[-1]["expected"] = expectation(match["expected"], number)
        continue
    elif line.lstrip().startswith("#"):
        continue
    else:
        pending = {"line": number, "command": line, "expected": None}
    if line.endswith("\\"):
        continue
    if match := TRAILING.match(pending["command"]):
        pending["expected"] = expectation(match["expected"], number)
    steps.append(pending)
    pending = None
if pending is not None:
    fail(f"README.md line {pending['line']}: the walk ends inside a continued command")
if not any(step["expected"] is not None for step in steps):
    fail("the walk shows no expected answer (`# {…}`); is README.md's walk intact?")

# Every URL must be one the check points at the stack under test, never another stack.
for url in re.findall(r"https?://[^\s\"'`]+", "\n".join(lines)):
    if not url.startswith((api, sandbox)):
        fail(f"the walk names {url}, which is neither {api} nor {sandbox} after rewriting")

for step in steps:
    syntax = subprocess.run(["bash", "-n", "-c", step["command"]], capture_output=True, text=True)
    if syntax.returncode != 0:
        fail(f"README.md line {step['line']}: not valid bash: {syntax.stderr.strip()}")

print(f"walkthrough: {len(steps)} commands from README.md against {api} and {sandbox}", flush=True)
out, err = os.path.join(work, "out"), os.path.join(work, "err")
shell = subprocess.Popen(["bash", "--noprofile", "--norc"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, cwd=work)
shell.stdin.write("set -o pipefail\n")
started = time.monotonic()
for step in steps:
    began = time.monotonic()
    # Verbatim, in the same shell (so its variables and functions carry over to the next).
    shell.stdin.write(f"{{ {step['command']}\n}} >{shlex.quote(out)} 2>{shlex.quote(err)} </dev/null\n"
                      'echo "walkthrough-status $?"\n')
    shell.stdin.flush()
    ready, _, _ = select.select([shell.stdout], [], [], STEP_SECONDS)
    reply = shell.stdout.readline() if ready else ""
    took = time.monotonic() - began
    first = step["command"].splitlines()[0]
    shown = "\n    ".join(step["command"].splitlines())
    if not reply.startswith("walkthrough-status "):
        shell.kill()
        fail(f"README.md line {step['line']}: no answer within {STEP_SECONDS} s (or the shell died):\n    $ {shown}")
    status = int(reply.split()[1])
    stdout = open(out, encoding="utf-8", errors="replace").read()
    stderr = open(err, encoding="utf-8", errors="replace").read()
    problem = None
    if status != 0:
        problem = f"exit status {status}"
    elif stderr.strip():
        problem = "it wrote to stderr"
    elif step["expected"] is None:
        if stdout.strip():
            problem = "it printed an answer the README does not show (add a `# {…}` comment)"
    else:
        try:
            answer = json.loads(stdout)
        except ValueError:
            problem = "its output is not one JSON value"
        else:
            problem = mismatch(step["expected"], answer)
    if problem:
        shell.kill()
        expected = "" if step["expected"] is None else \
            f"\n  expected: {json.dumps(step['expected'], ensure_ascii=False)}"
        fail(f"README.md line {step['line']}: {problem}\n    $ {shown}{expected}"
             f"\n  stdout: {stdout.strip() or '(nothing)'}\n  stderr: {stderr.strip() or '(nothing)'}")
    print(f"  ok {took:5.2f} s  line {step['line']}: {first[:100]}{'…' if len(first) > 100 else ''}", flush=True)
shell.stdin.close()
shell.wait()
print(f"walkthrough: all {len(steps)} README commands gave the README's answers"
      f" ({time.monotonic() - started:.1f} s)")
PY
