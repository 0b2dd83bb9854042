#!/usr/bin/env python3
"""The largest cycle of `crate::` references between wacrm's modules.

A module is a source file under src/ (`src/infra/db/messages.rs` is
`infra::db::messages`, a `mod.rs` names its folder). Module A depends on B when
A's code names `crate::B...` (a `use` or a path) or `super::...` resolving
to B. The strongly connected components of that graph are the import
cycles; this prints the largest ones (size and members) and the number of
modules. Layers point one way when the largest cycle is a handful of
modules within one feature.

    python3 scripts/import-cycles.py [--top N] [--max SIZE] [--layers]
                                     [--max-upward N]

With `--max SIZE` it exits 1 when the largest cycle is bigger (for CI).
`--layers` prints the lines of each layer (domain, infra, channels,
features, web, and the root files) and the references that point up the
layers (infra naming a feature, a feature naming `state::AppState`, ...);
`--max-upward N` exits 1 when there are more of those (for CI).
"""
import argparse
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] == "mod":
        rel = rel[:-1]
    if rel in (["lib"], ["main"]):
        return "crate"
    return "::".join(rel)


def modules():
    found = {}
    for folder, _, files in os.walk(ROOT):
        for name in files:
            if name.endswith(".rs"):
                path = os.path.join(folder, name)
                found[module_of(path)] = path
    return found


PATH = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super)::\{([^}]*)\}", re.S)


def resolve(known, base, segments):
    """The longest known module named by `base` followed by `segments`."""
    parts = [] if base == "crate" else base.split("::")
    best = None
    for segment in segments:
        parts = parts + [segment]
        name = "::".join(parts)
        if name in known:
            best = name
        else:
            break
    return best


def references(known, module, text):
    text = re.sub(r"//[^\n]*", "", text)
    here = [] if module == "crate" else module.split("::")
    found = set()

    def add(kind, rest):
        segments = [s for s in rest.split("::") if s]
        if kind == "crate":
            base = "crate"
        else:
            # `super` from a file module is its parent; from a `mod.rs`, too.
            while segments and segments[0] == "super":
                segments = segments[1:]
            parent = here[:-1]
            base = "::".join(parent) if parent else "crate"
        target = resolve(known, base, segments)
        if target and target != module:
            found.add(target)

    for kind, rest in PATH.findall(text):
        add(kind, rest)
    for kind, inner in GROUP.findall(text):
        for item in inner.split(","):
            item = item.strip().split(" as ")[0]
            if item:
                add(kind, "::" + item.replace("{", "").strip())
    # A module brought in by `use` (`use crate::db;`, `use super::link`)
    # and then named through it (`db::messages::insert`): the path counts
    # from that module.
    aliases = {}
    for use in re.findall(r"\buse\s+([^;]+);", text):
        for kind, rest, alias in re.findall(
            r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+)(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?",
            use,
        ):
            segments = [s for s in rest.split("::") if s]
            if kind == "crate":
                target = resolve(known, "crate", segments)
            else:
                while segments and segments[0] == "super":
                    segments = segments[1:]
                parent = here[:-1]
                target = resolve(known, "::".join(parent) if parent else "crate", segments)
            if target and target.split("::")[-1] == (segments[-1] if segments else ""):
                aliases[alias or segments[-1]] = target
    for name, target in aliases.items():
        for rest in re.findall(r"(?<![A-Za-z0-9_:])" + re.escape(name) + r"((?:::[A-Za-z_][A-Za-z0-9_]*)+)", text):
            segments = [s for s in rest.split("::") if s]
            deeper = resolve(known, target, segments)
            if deeper and deeper != module:
                found.add(deeper)
    return found


def components(graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on_stack, result = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            result.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return result


# Lower layers may not name higher ones; channels and features are peers (a
# channel delivers into the inbox, the inbox sends through a channel).
# `error` is the crate-wide error every layer returns; `state` assembles the
# services for the handlers and `worker` those of the jobs, so only `web`
# and `server` may name them (a service takes the narrow context it needs).
RANK = {"domain": 0, "error": 1, "infra": 1, "channels": 2, "features": 2,
        "web": 3, "state": 3, "worker": 3, "server": 4, "crate": 4}


def layer(module):
    return module.split("::")[0]


def report_layers(known, graph, show):
    lines = {}
    for module, path in known.items():
        with open(path, encoding="utf-8") as source:
            count = sum(1 for _ in source)
        lines[layer(module)] = lines.get(layer(module), 0) + count
    print("lines per layer: " + ", ".join(
        f"{name} {lines[name]:,}" for name in sorted(lines, key=lambda n: (RANK.get(n, 9), n))))
    upward = {}
    for module, targets in graph.items():
        for target in targets:
            low, high = layer(module), layer(target)
            if RANK.get(low, 9) < RANK.get(high, 9):
                upward.setdefault((low, high), []).append((module, target))
    total = sum(len(v) for v in upward.values())
    print(f"references pointing up the layers: {total}")
    for (low, high), pairs in sorted(upward.items(), key=lambda kv: -len(kv[1])):
        print(f"- {low} -> {high}: {len(pairs)}")
        for module, target in sorted(pairs)[:show]:
            print(f"    {module} -> {target}")
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--max", type=int, default=None)
    parser.add_argument("--layers", action="store_true")
    parser.add_argument("--max-upward", type=int, default=None)
    args = parser.parse_args()
    known = modules()
    graph = {}
    for module, path in known.items():
        with open(path, encoding="utf-8") as source:
            graph[module] = references(known, module, source.read())
    cycles = sorted((c for c in components(graph) if len(c) > 1), key=len, reverse=True)
    largest = len(cycles[0]) if cycles else 1
    print(f"{len(known)} modules; largest import cycle: {largest} modules; "
          f"{len(cycles)} cycles in all")
    for cycle in cycles[: args.top]:
        print(f"- {len(cycle)}: {', '.join(cycle)}")
    failed = False
    if args.max is not None and largest > args.max:
        print(f"the largest cycle ({largest}) is over {args.max}", file=sys.stderr)
        failed = True
    if args.layers or args.max_upward is not None:
        upward = report_layers(known, graph, args.top if args.layers else 0)
        if args.max_upward is not None and upward > args.max_upward:
            print(f"{upward} references point up the layers, over {args.max_upward}",
                  file=sys.stderr)
            failed = True
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
