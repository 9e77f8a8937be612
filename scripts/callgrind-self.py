#!/usr/bin/env python3
"""Self cost (instructions) per function in one callgrind dump, optionally per request.

callgrind_annotate misreads the partial dumps `callgrind_control --dump` writes mid-run
(it charges everything to __libc_start_main); this sums each function's own cost lines
and skips the inclusive cost of calls. Usage: callgrind-self.py FILE [UNITS] [TOP]
(run callgrind with --compress-strings=no --compress-pos=no)."""
import collections
import sys


def self_costs(path):
    costs = collections.Counter()
    function, after_call = None, False
    with open(path, errors="replace") as dump:
        for line in dump:
            if line.startswith("fn="):
                function = line[3:].strip()
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                fields = line.split()
                if after_call:
                    after_call = False
                elif function is not None and len(fields) >= 2:
                    costs[function] += int(fields[1])
    return costs


def main():
    path = sys.argv[1]
    units = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    costs = self_costs(path)
    total = sum(costs.values())
    print(f"{total // units:,} instructions per unit ({units} units)")
    for function, cost in costs.most_common(top):
        print(f"{cost / total * 100:5.1f}% {cost // units:>10,}  {function[:140]}")


if __name__ == "__main__":
    main()
