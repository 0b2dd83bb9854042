#!/usr/bin/env python3
"""Builds templates/icons.svg, the inline SVG sprite the layout includes,
from the Lucide icon set (ISC licence, static/lucide.LICENSE).

    npm pack lucide-static && tar xzf lucide-static-*.tgz
    python3 scripts/build-icon-sprite.py package/icons

Each icon becomes `<symbol id="i-NAME">`; a page uses it as
`<svg class="icon" aria-hidden="true"><use href="#i-NAME"/></svg>`.
"""
import pathlib
import re
import sys

# The icons the interface uses: add a name here, then run the script again.
ICONS = """
arrow-left at-sign bell book-open building-2 calendar chart-column
check check-check chevron-down circle-user clock contact ellipsis file-text
flag handshake inbox layout-dashboard log-out megaphone menu message-circle
message-square-text package plus search settings shopping-bag
sliders-horizontal square-check-big tag user user-x users x zap
""".split()


def symbol(name: str, source: str) -> str:
    inner = re.search(r"<svg[^>]*>(.*)</svg>", source, re.S).group(1)
    inner = re.sub(r"\s+", " ", inner).replace(" />", "/>").strip()
    return f'<symbol id="i-{name}" viewBox="0 0 24 24">{inner}</symbol>'


def main() -> None:
    icons = pathlib.Path(sys.argv[1])
    out = pathlib.Path(__file__).resolve().parent.parent / "templates" / "icons.svg"
    symbols = "\n".join(symbol(n, (icons / f"{n}.svg").read_text()) for n in ICONS)
    out.write_text(
        "<!-- Lucide icons (ISC licence: static/lucide.LICENSE); "
        "built by scripts/build-icon-sprite.py -->\n"
        '<svg xmlns="http://www.w3.org/2000/svg" class="sprite" aria-hidden="true" '
        'fill="none" stroke="currentColor" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round">\n'
        f"{symbols}\n</svg>\n"
    )
    print(f"{out}: {len(ICONS)} icons, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
