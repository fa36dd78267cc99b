#!/usr/bin/env python3
"""Draws the W5 chart (docs/benchmarks-w5.svg) from benchmark RESULT lines.

    RAPPORT_BENCH_DIR=/tmp/w5 RAPPORT_BENCH_RESULTS=/tmp/w5.txt \
      swift package --disable-sandbox benchmark --target ReplayBenchmarks --filter 'W5.*'
    python3 chart.py /tmp/w5.txt ../docs/benchmarks-w5.svg

Left: replay throughput (events/s) at each log size. Right: p50 and p99
latency of one stream read and one tag query (100 events each) against the
log size. Plain SVG, no plotting library: only the standard library.
"""
import sys
from collections import defaultdict


def parse(path):
    """{benchmark key: {field: value}} from the RESULT lines of `path` (the last line of a key wins)."""
    results = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("RESULT "):
                continue
            fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
            results[fields["benchmark"]] = fields
    return results


def label(size):
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size:,}"


def bars(x, y, width, height, title, items, unit):
    """A bar chart: items = [(label, value)]."""
    out = [f'<text x="{x + width / 2}" y="{y - 12}" text-anchor="middle" font-weight="bold">{title}</text>']
    top = max(value for _, value in items) * 1.15 or 1
    slot = width / len(items)
    out.append(f'<line x1="{x}" y1="{y + height}" x2="{x + width}" y2="{y + height}" stroke="#333"/>')
    for index, (name, value) in enumerate(items):
        h = height * value / top
        left = x + index * slot + slot * 0.2
        out.append(f'<rect x="{left:.1f}" y="{y + height - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" fill="#4e79a7"/>')
        out.append(f'<text x="{left + slot * 0.3:.1f}" y="{y + height - h - 5:.1f}" text-anchor="middle">{value:,.0f} {unit}</text>')
        out.append(f'<text x="{left + slot * 0.3:.1f}" y="{y + height + 16:.1f}" text-anchor="middle">{name}</text>')
    return out


def lines(x, y, width, height, title, series, sizes):
    """Latency against log size: series = {name: [(size, microseconds)]}, one line each."""
    out = [f'<text x="{x + width / 2}" y="{y - 12}" text-anchor="middle" font-weight="bold">{title}</text>']
    top = max(v for points in series.values() for _, v in points) * 1.2 or 1
    out.append(f'<line x1="{x}" y1="{y + height}" x2="{x + width}" y2="{y + height}" stroke="#333"/>')
    out.append(f'<line x1="{x}" y1="{y}" x2="{x}" y2="{y + height}" stroke="#333"/>')
    for step in range(5):
        value = top * step / 4
        ty = y + height - height * step / 4
        out.append(f'<text x="{x - 6}" y="{ty + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
        out.append(f'<line x1="{x}" y1="{ty:.1f}" x2="{x + width}" y2="{ty:.1f}" stroke="#ddd"/>')
    out.append(f'<text x="{x - 40}" y="{y + height / 2}" text-anchor="middle" transform="rotate(-90 {x - 40} {y + height / 2})">µs</text>')
    position = {size: x + width * (index + 0.5) / len(sizes) for index, size in enumerate(sizes)}
    for size in sizes:
        out.append(f'<text x="{position[size]:.1f}" y="{y + height + 16}" text-anchor="middle">{label(size)} events</text>')
    colours = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = colours[index % len(colours)]
        coords = [(position[size], y + height - height * value / top) for size, value in sorted(points)]
        out.append('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            colour, " ".join(f"{px:.1f},{py:.1f}" for px, py in coords)))
        for (px, py), (_, value) in zip(coords, sorted(points)):
            out.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}"/>')
            out.append(f'<text x="{px + 6:.1f}" y="{py - 6:.1f}">{value:,.0f}</text>')
        legend_x, legend_y = x + (index % 2) * 180, y + height + 34 + (index // 2) * 16
        out.append(f'<rect x="{legend_x}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{legend_x + 16}" y="{legend_y}">{name}</text>')
    return out


def main(source, target):
    results = parse(source)
    throughput = []
    latency = defaultdict(list)
    sizes = set()
    for key, fields in results.items():
        if not key.startswith("W5/"):
            continue
        kind, _, size_label = key[len("W5/"):].rpartition("-")
        size = int(fields.get("log_events") or fields["events"])
        if kind == "replay":
            throughput.append((size, float(fields["events_per_s"])))
        elif kind in ("stream", "tag"):
            sizes.add(size)
            name = "one stream" if kind == "stream" else "one tag"
            latency[f"{name}, p50"].append((size, float(fields["p50_us"])))
            latency[f"{name}, p99"].append((size, float(fields["p99_us"])))
    if not throughput or not latency:
        sys.exit(f"{source} has no W5 RESULT lines")
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="900" height="380" font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>']
    svg += bars(40, 50, 330, 230, "Full replay, LMDB store (events/s)",
                [(f"{label(size)} events", value) for size, value in sorted(throughput)], "")
    svg += lines(500, 50, 360, 230, "Reads of 100 events against log size (µs)", latency, sorted(sizes))
    svg.append("</svg>")
    with open(target, "w", encoding="utf-8") as out:
        out.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: chart.py RESULTS.txt OUTPUT.svg")
    main(sys.argv[1], sys.argv[2])
