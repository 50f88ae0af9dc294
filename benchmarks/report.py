"""Turn the run lines into the results JSON, the markdown tables, the chart and docs/benchmarks.md.

    python benchmarks/report.py --chart benchmarks/results/<date>.json   # the PNG (needs matplotlib)
    python benchmarks/report.py --markdown benchmarks/results/<date>.json  # tables + docs again

Every figure is the median of the repetitions with min and max. The pybull / node-bullmq ratio is
taken per repetition (the two runs were adjacent in time, on the same server) and the median of
those ratios is reported: that is the figure that counts, not a ratio of two medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SYSTEM_ORDER = ["pybull", "node-bullmq", "bullmq-python", "arq", "rq"]
BASE, PEER = "pybull", "node-bullmq"


def _stats(values: Iterable[float | None]) -> dict[str, float] | None:
    clean = [float(v) for v in values if v is not None]
    if not clean:
        return None
    return {"median": statistics.median(clean), "min": min(clean), "max": max(clean), "runs": len(clean)}


def _systems(lines: list[dict[str, Any]]) -> list[str]:
    present = {line["system"] for line in lines}
    return [s for s in SYSTEM_ORDER if s in present]


def summarize(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (row label, system), in the order the rows ran."""
    labels: list[str] = []
    for line in lines:
        if line["label"] not in labels:
            labels.append(line["label"])
    summary = []
    for label in labels:
        rows = [line for line in lines if line["label"] == label]
        for system in _systems(rows):
            runs = [r for r in rows if r["system"] == system]
            entry: dict[str, Any] = {
                "label": label,
                "scenario": runs[0]["scenario"],
                "system": system,
                "version": next((r["version"] for r in runs if r.get("version")), None),
                "note": next((r["note"] for r in runs if r.get("note")), None),
            }
            for key in (
                "jobs_per_s", "seconds", "p50_ms", "p95_ms", "p99_ms", "worker_cpu_s", "redis_cpu_s",
                "worker_rss_mb", "redis_bytes_per_job",
            ):  # fmt: skip
                entry[key] = _stats(r.get(key) for r in runs)
            entry["worker_cpu_us_per_job"] = _stats(_per_job(r, "worker_cpu_s") for r in runs)
            entry["redis_cpu_us_per_job"] = _stats(_per_job(r, "redis_cpu_s") for r in runs)
            if system == BASE:
                key = "p50_ms" if runs[0]["scenario"] == "latency" else "jobs_per_s"
                entry["ratio_to_node"] = _ratio(rows, key)
            for key in ("stored", "workers", "concurrency", "remove_on_complete", "n"):
                if runs[0].get(key) is not None:
                    entry[key] = runs[0][key]
            summary.append(entry)
    return summary


def _per_job(line: dict[str, Any], key: str) -> float | None:
    value, n = line.get(key), line.get("count") or line.get("n")
    if value is None or not n or line.get("jobs_per_s") is None:
        return None
    return float(value) * 1e6 / float(n)


def _ratio(rows: list[dict[str, Any]], key: str) -> dict[str, float] | None:
    """pybull / node-bullmq per repetition (same rep = adjacent runs), then median, min, max."""
    ratios = []
    for rep in sorted({r.get("rep", 0) for r in rows}):
        mine = [r.get(key) for r in rows if r["system"] == BASE and r.get("rep", 0) == rep]
        theirs = [r.get(key) for r in rows if r["system"] == PEER and r.get("rep", 0) == rep]
        if mine and theirs and mine[0] is not None and theirs[0]:
            ratios.append(float(mine[0]) / float(theirs[0]))
    return _stats(ratios)


# --- markdown ---------------------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _cell(stats: dict[str, float] | None, digits: int = 0, spread: bool = True) -> str:
    if stats is None:
        return "n/a"
    text = _num(stats["median"], digits)
    if spread and stats["runs"] > 1:
        text += f" <sub>{_num(stats['min'], digits)}–{_num(stats['max'], digits)}</sub>"
    return text


def _ratio_cell(stats: dict[str, float] | None, lower_is_better: bool = False) -> str:
    if stats is None:
        return "–"
    text = f"**{stats['median']:.2f}×**"
    if stats["runs"] > 1:
        text += f" <sub>{stats['min']:.2f}–{stats['max']:.2f}</sub>"
    return text + (" (lower is better)" if lower_is_better else "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def markdown(meta: dict[str, Any], lines: list[dict[str, Any]], summary: list[dict[str, Any]]) -> str:
    systems = _systems(lines)
    by = {(e["label"], e["system"]): e for e in summary}
    labels = list(dict.fromkeys(e["label"] for e in summary))
    reps = meta.get("reps", 1)
    has_peer = BASE in systems and PEER in systems
    parts = [_machine(meta)]

    head = ["scenario", *systems] + (["pybull / node"] if has_peer else [])
    rows = []
    for label in labels:
        if label == "latency":
            continue
        row = [label] + [_cell(by.get((label, s), {}).get("jobs_per_s")) for s in systems]
        if has_peer:
            row.append(_ratio_cell(by.get((label, BASE), {}).get("ratio_to_node")))
        rows.append(row)
    parts.append(
        f"### Throughput, jobs/s (median of {reps} run{'s' if reps > 1 else ''}"
        + (", min–max in small type" if reps > 1 else "")
        + "; higher is better)\n\n"
        + _table(head, rows)
    )

    if "latency" in labels:
        lat_rows = []
        for s in systems:
            e = by.get(("latency", s), {})
            lat_rows.append([s, *(_cell(e.get(p), 2) for p in ("p50_ms", "p95_ms", "p99_ms"))])
        text = (
            "### Latency, add to completion, ms (idle worker, one job every "
            f"{meta.get('sizes', {}).get('interval_ms', 2)} ms; lower is better)\n\n"
            + _table(["system", "p50", "p95", "p99"], lat_rows)
        )
        if has_peer:
            ratio = by.get(("latency", BASE), {}).get("ratio_to_node")
            text += "\n\npybull / node p50: " + _ratio_cell(ratio, lower_is_better=True)
        parts.append(text)

    cost_rows = []
    for label in labels:
        row = [label]
        for s in systems:
            e = by.get((label, s), {})
            w, r = e.get("worker_cpu_us_per_job"), e.get("redis_cpu_us_per_job")
            row.append("n/a" if w is None else f"{_num(w['median'])} + {_num(r['median'] if r else None)}")
        cost_rows.append(row)
    parts.append(
        "### CPU per job, µs: client/worker process + Redis server (median; lower is better)\n\n"
        + _table(["scenario", *systems], cost_rows)
    )

    rss_rows = []
    for label in labels:
        if not label.startswith(("process", "fleet", "enqueue")):
            continue
        cells = [_cell(by.get((label, s), {}).get("worker_rss_mb"), 0, False) for s in systems]
        rss_rows.append([label, *cells])
    if rss_rows:
        parts.append(
            "### Peak RSS of the adapter process, MB (fleet: all processes together)\n\n"
            + _table(["scenario", *systems], rss_rows)
        )

    scale = [label for label in labels if label.startswith("scale")]
    if scale:
        scale_rows = []
        for label in scale:
            row = [label]
            for s in systems:
                e = by.get((label, s), {})
                jobs, size = e.get("jobs_per_s"), e.get("redis_bytes_per_job")
                size_text = _num(size["median"] if size else None)
                row.append("n/a" if jobs is None else f"{_cell(jobs, 0, False)} · {size_text} B")
            scale_rows.append(row)
        parts.append(
            "### Scale: processing jobs/s · Redis bytes per stored job, as the backlog grows\n\n"
            + _table(["scenario", *systems], scale_rows)
        )

    notes = sorted({f"{e['system']} {e['label']}: {e['note']}" for e in summary if e.get("note")})
    missing = [s for s in SYSTEM_ORDER if s not in systems]
    if missing:
        notes.append(
            f"Not in this run: {', '.join(missing)} (`--systems all` includes them; see the README)."
        )
    if notes:
        parts.append("### Notes\n\n" + "\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n"


def _sizes(meta: dict[str, Any]) -> str:
    z = meta.get("sizes") or {}
    if not z:
        return ""
    scale = "/".join(f"{n:,}" for n in z.get("scale", []))
    return (
        f"Sizes: enqueue-single {z['single']:,}; enqueue-bulk {z['bulk']:,} in chunks of {z['chunk']:,}; "
        f"process {z['process']:,}; latency {z['latency']:,} at {z['interval_ms']} ms; scale {scale} stored, "
        f"{z['scale_batch']:,} processed; fleet {z['fleet']:,}."
    )


def _machine(meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    load = ""
    if meta.get("loadavg_start") is not None:
        load = (
            f" Load average (1 min): {meta['loadavg_start']} at the start,"
            f" {meta.get('loadavg_end')} at the end;"
            " anything well above 1 on this machine means other work competed for the cores, which widens"
            " the min–max ranges; the interleaving keeps it from favouring one system."
        )
    source = meta.get("pybull_source") or {}
    if source:
        versions += (
            f" (pybull source: commit {source.get('commit')}, {source.get('uncommitted_files')} uncommitted"
            f" file(s), tree {source.get('sha256')})"
        )
    pythons = sorted(set(meta.get("python_versions", {}).values()))
    node = meta.get("node_version")
    return (
        f"Run {meta.get('date')} ({meta.get('profile')} profile, {meta.get('reps')} repetition(s), "
        f"{meta.get('elapsed_s', '?')} s): {meta.get('cpu_model')}, {meta.get('cores')} cores, "
        f"{meta.get('memory_gb')} GB, {meta.get('os')}; redis-server {meta.get('redis_version')}; "
        f"Python {', '.join(pythons) or '?'}"
        + (f"; Node {node}" if node else "")
        + f".\n\nVersions: {versions}. {_sizes(meta)}{load}"
    )


# --- files ------------------------------------------------------------------------------------------------


DOC_HEAD = """# Benchmarks

How pybull compares with what you would pick instead — Node BullMQ 6.7.0, the official Python
`bullmq`, arq and RQ — on the same Redis, on the same machine, in the same run. One command
reproduces it:

```bash
python benchmarks/run.py                   # all five systems, 3 repetitions (~1 hour); rewrites this page
python benchmarks/run.py --systems pybull,node-bullmq,bullmq-python --scale 10000,100000 --fleet-n 20000
                                           # the run shown below (about 20 minutes)
python benchmarks/run.py --quick           # smoke run: pybull + node-bullmq (+ the others if installed)
```

What the harness does (details in [benchmarks/README.md](../benchmarks/README.md)):

- starts its own `redis-server` on a loopback port and `FLUSHALL`s it before every run;
- runs each system as its own adapter process (Python adapters in `benchmarks/.venv`, Node with
  `node`), which connects, prints READY and starts the clock only on GO: start-up is never timed;
- interleaves the systems (A B C, B C A, C A B, ...) and reports the median of the repetitions with the
  min–max range; the **pybull / node** column is the median of per-repetition ratios, each taken
  from two runs adjacent in time on the same server: that is the figure to quote;
- measures worker CPU and peak RSS inside each adapter process (`getrusage`, `/proc/self/status`)
  and Redis CPU from `INFO cpu` before and after the measured window.

Scenarios: `enqueue-single` (sequential awaited adds), `enqueue-bulk` (chunks of 1,000),
`process` (pre-loaded no-op jobs, one worker process, concurrency 1/10/100, completed jobs kept or
removed), `latency` (idle worker, jobs added ~2 ms apart: add-to-completion percentiles), `scale`
(processing speed and Redis memory per job as the stored backlog grows) and `fleet` (1, 2, 4 worker
processes on one queue). Where a system lacks a feature its adapter uses the nearest equivalent
and says so in its docstring: arq has no bulk add (concurrent `enqueue_job` calls) and polls
(`poll_delay` tuned from 0.5 s to 10 ms); RQ runs one job at a time per process (`SimpleWorker`;
concurrency > 1 is n/a, the fleet scenario is its way to scale).

## Results

"""


def write_reports(
    meta: dict[str, Any], lines: list[dict[str, Any]], out_dir: Path, stamp: str, docs: Path | None
) -> list[Path]:
    summary = summarize(lines)
    json_path = out_dir / f"{stamp}.json"
    json_path.write_text(json.dumps({"meta": meta, "runs": lines, "summary": summary}, indent=1) + "\n")
    md = markdown(meta, lines, summary)
    md_path = out_dir / f"{stamp}.md"
    md_path.write_text(f"# Benchmark results {stamp}\n\n![chart]({stamp}.png)\n\n{md}")
    paths = [json_path, md_path]
    if docs is not None:
        png = out_dir.resolve() / f"{stamp}.png"
        try:
            rel = Path("..") / png.relative_to(docs.resolve().parent.parent)
        except ValueError:  # results outside the repository: link them where they are
            rel = png
        docs.parent.mkdir(parents=True, exist_ok=True)
        docs.write_text(DOC_HEAD + f"![Benchmark chart]({rel.as_posix()})\n\n" + md)
        paths.append(docs)
    return paths


# --- chart ------------------------------------------------------------------------------------------------


def _log_ticks(axis: Any, matplotlib: Any, fmt: str) -> None:
    """Readable ticks on a log axis: 1-2-5 steps, plain numbers, no minor labels."""
    axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt.format(v)))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def chart(results_json: Path) -> Path:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads(results_json.read_text())
    summary, lines = data["summary"], data["runs"]
    systems = _systems(lines)
    by = {(e["label"], e["system"]): e for e in summary}
    labels = list(dict.fromkeys(e["label"] for e in summary))
    colors = dict(zip(SYSTEM_ORDER, ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e"], strict=True))

    fig, axes = plt.subplots(2, 2, figsize=(14, 10))
    fig.suptitle(
        f"pybull vs peers — {data['meta'].get('date', '')[:10]}, {data['meta'].get('cpu_model', '')}"
    )

    ax = axes[0][0]
    rows = [lb for lb in labels if lb.startswith(("enqueue", "process"))]
    width = 0.8 / max(len(systems), 1)
    for i, s in enumerate(systems if rows else []):
        vals = [((by.get((lb, s)) or {}).get("jobs_per_s") or {}).get("median", 0) for lb in rows]
        ax.barh([j + i * width for j in range(len(rows))], vals, height=width, label=s, color=colors[s])
    ax.set_yticks([j + width * (len(systems) - 1) / 2 for j in range(len(rows))], rows, fontsize=8)
    ax.invert_yaxis()
    if rows:
        ax.set_xscale("log")
        _log_ticks(ax.xaxis, matplotlib, "{:,.0f}")
        ax.legend(fontsize=8)
    ax.set_xlabel("jobs/s (log scale, higher is better)")
    ax.set_title("Throughput")

    ax = axes[0][1]
    if "latency" in labels:
        pcts = ["p50_ms", "p95_ms", "p99_ms"]
        for i, s in enumerate(systems):
            e = by.get(("latency", s)) or {}
            vals = [(e.get(p) or {}).get("median", 0) for p in pcts]
            ax.bar([j + i * width for j in range(3)], vals, width=width, label=s, color=colors[s])
        ax.set_xticks([j + width * (len(systems) - 1) / 2 for j in range(3)], ["p50", "p95", "p99"])
        ax.set_yscale("log")
        _log_ticks(ax.yaxis, matplotlib, "{:g}")
        ax.set_ylabel("ms (log scale, lower is better)")
    ax.set_title("Latency: add to completion, idle worker")

    for ax, prefix, key, xlabel in (
        (axes[1][0], "scale", "stored", "jobs stored in the queue"),
        (axes[1][1], "fleet", "workers", "worker processes"),
    ):
        rows = [lb for lb in labels if lb.startswith(prefix)]
        for s in systems:
            pts = [
                (by[(lb, s)][key], by[(lb, s)]["jobs_per_s"]["median"])
                for lb in rows
                if (lb, s) in by and by[(lb, s)].get("jobs_per_s") and by[(lb, s)].get(key)
            ]
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=s, color=colors[s])
        ticks = sorted({by[(lb, s)][key] for lb in rows for s in systems if by.get((lb, s), {}).get(key)})
        if prefix == "scale":
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
        ax.set_ylim(bottom=0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("jobs/s")
        ax.set_title("Scale: processing speed as the backlog grows" if prefix == "scale" else "Fleet")
        if rows:
            ax.legend(fontsize=8)
    fig.tight_layout()
    png = results_json.with_suffix(".png")
    fig.savefig(png, dpi=110)
    return png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--chart", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--docs", type=Path, help="also rewrite this docs page (with --markdown)")
    args = parser.parse_args()
    if args.markdown:
        data = json.loads(args.results.read_text())
        stamp = args.results.stem
        for path in write_reports(data["meta"], data["runs"], args.results.parent, stamp, args.docs):
            print(f"wrote {path}")
    if args.chart:
        print(f"wrote {chart(args.results)}")


if __name__ == "__main__":
    main()
