"""pybull side by side with Node BullMQ, the official Python bullmq, arq and RQ: one command, one run.

    python benchmarks/run.py            # full run: installs, all systems, 3 repetitions, results + docs
    python benchmarks/run.py --quick    # smoke run: pybull + node-bullmq in well under a minute

Every system runs as its own adapter process (benchmarks/adapters/*, benchmarks/node/adapter.mjs)
against one redis-server started here on a loopback port, flushed before every run. Systems are
interleaved (A B C A B C ...) and each figure is the median of the repetitions, with min and max.
Each run prints one JSON line on stdout; progress goes to stderr. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ADAPTERS = HERE / "adapters"
NODE_DIR = HERE / "node"
VENV = HERE / ".venv"
PY_VENV = VENV / "py"
ARQ_VENV = VENV / "arq"
SYSTEMS = ["pybull", "node-bullmq", "bullmq-python", "arq", "rq"]
FIELDS = [
    "system", "version", "scenario", "n", "concurrency", "seconds", "jobs_per_s", "p50_ms", "p95_ms",
    "p99_ms", "worker_rss_mb", "worker_cpu_s", "redis_cpu_s",
]  # fmt: skip

# Sizes per profile. "full" is the specification; "quick" is the CI smoke run; "tiny" is
# the pytest smoke test (seconds).
PROFILES: dict[str, dict[str, Any]] = {
    "full": {
        "single": 20_000, "bulk": 100_000, "chunk": 1_000, "process": 50_000,
        "concurrency": [1, 10, 100], "latency": 2_000, "interval_ms": 2.0,
        "scale": [10_000, 100_000, 1_000_000], "scale_batch": 10_000, "fleet": 50_000,
        "fleet_workers": [1, 2, 4], "reps": 3, "timeout": 900, "max_run_s": 60,
    },
    "quick": {
        "single": 1_000, "bulk": 5_000, "chunk": 1_000, "process": 2_000, "remove": [False],
        "concurrency": [1, 10, 100], "latency": 200, "interval_ms": 2.0,
        "scale": [1_000, 5_000], "scale_batch": 1_000, "fleet": 2_000,
        "fleet_workers": [1, 2, 4], "reps": 1, "timeout": 120, "max_run_s": 15,
    },
    "tiny": {
        "single": 200, "bulk": 400, "chunk": 100, "process": 200,
        "concurrency": [1, 10], "latency": 50, "interval_ms": 2.0,
        "scale": [200, 400], "scale_batch": 100, "fleet": 200,
        "fleet_workers": [1, 2], "reps": 1, "timeout": 60, "max_run_s": 0,
    },
}  # fmt: skip
SCENARIOS = ["enqueue-single", "enqueue-bulk", "process", "latency", "scale", "fleet"]
FLEET_CONCURRENCY = 10
SCALE_CONCURRENCY = 10


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- installing -------------------------------------------------------------------------------------


def _marker_ok(venv: Path, digest: str) -> bool:
    marker = venv / ".bench-installed"
    return marker.exists() and marker.read_text() == digest


def _install_venv(venv: Path, requirements: Path, editable_repo: bool) -> None:
    digest = hashlib.sha256(requirements.read_bytes() + (REPO / "pyproject.toml").read_bytes()).hexdigest()
    if _marker_ok(venv, digest):
        return
    log(f"installing {requirements.name} into {venv.relative_to(HERE)}")
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, stdout=sys.stderr)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements)], check=True, stdout=sys.stderr)
    if editable_repo:
        subprocess.run([*pip, "-e", str(REPO)], check=True, stdout=sys.stderr)
    (venv / ".bench-installed").write_text(digest)


def _install_node() -> None:
    if not shutil.which("npm"):
        raise SystemExit("node-bullmq needs node and npm on PATH")
    log("npm install in benchmarks/node")
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NODE_DIR,
        check=True,
        stdout=sys.stderr,
    )


def install(systems: list[str], pybull_in_venv: bool) -> None:
    if "node-bullmq" in systems:
        _install_node()
    if {"bullmq-python", "rq"} & set(systems) or ("pybull" in systems and pybull_in_venv):
        _install_venv(PY_VENV, HERE / "requirements.txt", editable_repo=True)
    if "arq" in systems:
        _install_venv(ARQ_VENV, HERE / "requirements-arq.txt", editable_repo=False)


def installed(system: str) -> bool:
    if system == "pybull":
        return True
    if system == "node-bullmq":
        return (NODE_DIR / "node_modules" / "bullmq").exists() and shutil.which("node") is not None
    if system in ("bullmq-python", "rq"):
        return (PY_VENV / ".bench-installed").exists()
    if system == "arq":
        return (ARQ_VENV / ".bench-installed").exists()
    return False


# --- one adapter process --------------------------------------------------------------------------------


@dataclass
class Launcher:
    """How to start one system's adapter."""

    system: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)


def launchers(pybull_python: str, pybull_root: Path = REPO) -> dict[str, Launcher]:
    py = str(PY_VENV / "bin" / "python")
    return {
        "pybull": Launcher(
            "pybull", [pybull_python, str(ADAPTERS / "pybull_adapter.py")], {"PYTHONPATH": str(pybull_root)}
        ),
        "node-bullmq": Launcher("node-bullmq", ["node", str(NODE_DIR / "adapter.mjs")]),
        "bullmq-python": Launcher("bullmq-python", [py, str(ADAPTERS / "bullmq_python_adapter.py")]),
        "arq": Launcher("arq", [str(ARQ_VENV / "bin" / "python"), str(ADAPTERS / "arq_adapter.py")]),
        "rq": Launcher("rq", [py, str(ADAPTERS / "rq_adapter.py")]),
    }


class AdapterError(RuntimeError):
    pass


class Child:
    """One adapter process: READY, then GO, then its JSON line."""

    def __init__(self, launcher: Launcher, url: str, queue: str, role: str, **flags: Any) -> None:
        argv = [*launcher.argv, "--url", url, "--queue", queue, "--role", role]
        for name, value in flags.items():
            if value is True:
                argv.append(f"--{name.replace('_', '-')}")
            elif value not in (None, False):
                argv += [f"--{name.replace('_', '-')}", str(value)]
        env = {**os.environ, **launcher.env, "PYTHONDONTWRITEBYTECODE": "1"}
        if "PYTHONPATH" in launcher.env and os.environ.get("PYTHONPATH"):
            env["PYTHONPATH"] = f"{launcher.env['PYTHONPATH']}{os.pathsep}{os.environ['PYTHONPATH']}"
        self.role = role
        self.system = launcher.system
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )

    def wait_ready(self) -> None:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if line.strip() != "READY":
            self.kill()
            raise AdapterError(f"{self.system} {self.role}: no READY ({line.strip()!r}): {self._stderr()}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("GO\n")
        self.proc.stdin.flush()

    def result(self, timeout: float) -> dict[str, Any]:
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise AdapterError(f"{self.system} {self.role}: timed out after {timeout:.0f}s") from exc
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if self.proc.returncode != 0 or not lines:
            raise AdapterError(
                f"{self.system} {self.role}: exit {self.proc.returncode}: {err.strip()[-1500:]}"
            )
        return dict(json.loads(lines[-1]))

    def _stderr(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            return ""
        return (err or "").strip()[-1500:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# --- the server side ------------------------------------------------------------------------------------


class Server:
    """The redis-server under test, plus the few reads the harness makes of it."""

    def __init__(self) -> None:
        sys.path.insert(0, str(REPO))
        from redis import Redis

        from pybull._server import EmbeddedServer

        try:
            self.embedded = EmbeddedServer("redis").start()
        except Exception as exc:  # no redis-server here: the same harness on valkey is still useful
            log(f"redis-server unavailable ({exc}); using any available server")
            self.embedded = EmbeddedServer("any").start()
        self.kind = self.embedded.kind
        self.url = self.embedded.url
        self.client = Redis.from_url(self.url, decode_responses=True)

    def flush(self) -> None:
        self.client.flushall()  # data only: cached scripts stay, as on a server in service

    def cpu_seconds(self) -> float:
        info = self.client.info("cpu")
        return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])

    def used_memory(self) -> int:
        return int(self.client.info("memory")["used_memory"])

    def version(self) -> str:
        info = self.client.info("server")
        return str(info.get("valkey_version") or info["redis_version"])

    def stop(self) -> None:
        self.client.close()
        self.embedded.cleanup()


# --- scenarios ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    """One row of the results: a scenario with its parameters."""

    scenario: str
    n: int
    concurrency: int = 1
    remove_on_complete: bool = False
    stored: int | None = None
    workers: int | None = None

    @property
    def label(self) -> str:
        parts = [self.scenario]
        if self.scenario in ("process", "scale", "fleet"):
            parts.append(f"c={self.concurrency}")
        if self.scenario == "process":
            parts.append("remove" if self.remove_on_complete else "keep")
        if self.stored is not None:
            parts.append(f"stored={self.stored:,}")
        if self.workers is not None:
            parts.append(f"{self.workers} proc")
        return " ".join(parts)


def plan(profile: dict[str, Any], scenarios: list[str]) -> list[Config]:
    configs: list[Config] = []
    for scenario in scenarios:
        if scenario == "enqueue-single":
            configs.append(Config(scenario, profile["single"]))
        elif scenario == "enqueue-bulk":
            configs.append(Config(scenario, profile["bulk"]))
        elif scenario == "process":
            for remove in profile.get("remove", [False, True]):
                for conc in profile["concurrency"]:
                    configs.append(Config(scenario, profile["process"], conc, remove))
        elif scenario == "latency":
            configs.append(Config(scenario, profile["latency"]))
        elif scenario == "scale":
            for stored in profile["scale"]:
                configs.append(Config(scenario, profile["scale_batch"], SCALE_CONCURRENCY, stored=stored))
        elif scenario == "fleet":
            for workers in profile["fleet_workers"]:
                configs.append(Config(scenario, profile["fleet"], FLEET_CONCURRENCY, workers=workers))
    return configs


def not_applicable(system: str, config: Config) -> str | None:
    if system == "rq" and config.concurrency > 1 and config.scenario == "process":
        return "rq runs one job at a time per worker process (see the fleet scenario)"
    return None


def concurrency_for(system: str, config: Config) -> int:
    """RQ has no in-process concurrency: in scale and fleet its workers run one job at a time."""
    return 1 if system == "rq" else config.concurrency


class Runner:
    def __init__(self, server: Server, launch: dict[str, Launcher], profile: dict[str, Any]) -> None:
        self.server = server
        self.launch = launch
        self.profile = profile
        self.timeout = float(profile["timeout"])
        # Slow systems (arq or RQ at concurrency 1) would take many minutes per run: a worker stops
        # after this long and its figure is what it completed in that time (noted on the line).
        self.max_run_s = float(profile.get("max_run_s") or 0) or None

    def _queue(self) -> str:
        return f"bench-{uuid.uuid4().hex[:8]}"

    def _timed(self, children: list[Child]) -> tuple[list[dict[str, Any]], float]:
        """Handshake with every child, start them together, return their results and Redis CPU."""
        try:
            for child in children:
                child.wait_ready()
            cpu0 = self.server.cpu_seconds()
            for child in children:
                child.go()
            results = [child.result(self.timeout) for child in children]
            return results, self.server.cpu_seconds() - cpu0
        finally:
            for child in children:
                child.kill()

    def _preload(self, launcher: Launcher, queue: str, n: int, remove: bool) -> None:
        child = Child(launcher, self.server.url, queue, "preload", n=n, chunk=1000, remove_on_complete=remove)
        child.result(self.timeout)

    def run(self, system: str, config: Config) -> dict[str, Any]:
        launcher = self.launch[system]
        url = self.server.url
        queue = self._queue()
        self.server.flush()
        extra: dict[str, Any] = {}
        if config.scenario in ("enqueue-single", "enqueue-bulk"):
            child = Child(launcher, url, queue, config.scenario, n=config.n, chunk=self.profile["chunk"])
            (result,), redis_cpu = self._timed([child])
        elif config.scenario == "process":
            self._preload(launcher, queue, config.n, config.remove_on_complete)
            child = Child(
                launcher, url, queue, "work", n=config.n, concurrency=config.concurrency,
                remove_on_complete=config.remove_on_complete, max_seconds=self.max_run_s,
            )  # fmt: skip
            (result,), redis_cpu = self._timed([child])
        elif config.scenario == "latency":
            result, redis_cpu = self._latency(launcher, queue, config)
        elif config.scenario == "scale":
            assert config.stored is not None
            before = self.server.used_memory()
            self._preload(launcher, queue, config.stored, remove=False)
            extra["redis_bytes_per_job"] = round((self.server.used_memory() - before) / config.stored, 1)
            extra["stored"] = config.stored
            conc = concurrency_for(system, config)
            child = Child(
                launcher, url, queue, "work", n=config.n, concurrency=conc, max_seconds=self.max_run_s
            )
            (result,), redis_cpu = self._timed([child])
            if conc != config.concurrency:
                extra["note"] = f"ran at concurrency {conc}"
        elif config.scenario == "fleet":
            assert config.workers is not None
            self._preload(launcher, queue, config.n, remove=False)
            conc = concurrency_for(system, config)
            children = [
                Child(launcher, url, queue, "work", n=config.n, concurrency=conc, until_empty=True)
                for _ in range(config.workers)
            ]
            results, redis_cpu = self._timed(children)
            result = _combine(results)
            extra["workers"] = config.workers
            if result["count"] != config.n:
                extra["note"] = f"fleet completed {result['count']} of {config.n} jobs"
            elif conc != config.concurrency:
                extra["note"] = f"ran at concurrency {conc} per process"
        else:
            raise ValueError(config.scenario)
        return self._line(system, config, result, redis_cpu, extra)

    def _latency(self, launcher: Launcher, queue: str, config: Config) -> tuple[dict[str, Any], float]:
        url = self.server.url
        worker = Child(launcher, url, queue, "work", n=config.n, concurrency=1, latency=True)
        producer: Child | None = None
        try:
            worker.wait_ready()
            cpu0 = self.server.cpu_seconds()
            worker.go()
            time.sleep(0.5)  # let the worker settle into its idle wait
            producer = Child(
                launcher, url, queue, "produce-timed", n=config.n, interval_ms=self.profile["interval_ms"]
            )
            producer.wait_ready()
            producer.go()
            producer.result(self.timeout)
            result = worker.result(self.timeout)
            return result, self.server.cpu_seconds() - cpu0
        finally:
            worker.kill()
            if producer is not None:
                producer.kill()

    @staticmethod
    def _line(
        system: str, config: Config, result: dict[str, Any], redis_cpu: float, extra: dict[str, Any]
    ) -> dict[str, Any]:
        line: dict[str, Any] = {
            "system": system,
            "version": result.get("version"),
            "scenario": config.scenario,
            "n": config.n,
            "concurrency": config.concurrency if config.scenario in ("process", "scale", "fleet") else 1,
        }
        for key in FIELDS[5:-1]:
            line[key] = result.get(key)
        line["count"] = result.get("count")
        notes = [extra.pop("note", None), result.get("note")]
        if config.scenario in ("process", "scale") and result.get("count", 0) < config.n:
            notes.append(f"time-boxed: {result.get('count')} of {config.n} jobs")
        line["redis_cpu_s"] = round(redis_cpu, 3)
        line["remove_on_complete"] = config.remove_on_complete
        line["label"] = config.label
        line.update(extra)
        if any(notes):
            line["note"] = "; ".join(n for n in notes if n)
        return line


def _combine(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The fleet as one worker: total jobs over the span from first start to last completion."""
    count = sum(r["count"] for r in results)
    seconds = max(r["t_end"] for r in results) - min(r["t_start"] for r in results)
    return {
        "version": results[0]["version"],
        "count": count,
        "seconds": round(seconds, 4),
        "jobs_per_s": round(count / max(seconds, 1e-9), 1),
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "worker_rss_mb": round(sum(r["worker_rss_mb"] for r in results), 1),  # the fleet's total
        "worker_cpu_s": round(sum(r["worker_cpu_s"] for r in results), 3),
        "note": "; ".join(sorted({r["note"] for r in results if r.get("note")})) or None,
    }


def failed_line(system: str, config: Config, note: str) -> dict[str, Any]:
    line: dict[str, Any] = dict.fromkeys(FIELDS)
    line.update(
        system=system, scenario=config.scenario, n=config.n, concurrency=config.concurrency,
        remove_on_complete=config.remove_on_complete, label=config.label, note=note,
    )  # fmt: skip
    if config.stored is not None:
        line["stored"] = config.stored
    if config.workers is not None:
        line["workers"] = config.workers
    return line


def snapshot_pybull() -> tuple[Path, dict[str, Any]]:
    """Copy pybull/ and lua/ aside so every run of a long benchmark measures the same code, even if
    the working tree changes meanwhile; say which code it was (commit, uncommitted files, digest)."""
    root = Path(tempfile.mkdtemp(prefix="pybull-bench-src-"))
    digest = hashlib.sha256()
    for name in ("pybull", "lua"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        for path in sorted((root / name).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
    commit = _output(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"])
    dirty = _output(["git", "-C", str(REPO), "status", "--porcelain", "--", "pybull", "lua"])
    return root, {
        "commit": commit,
        "uncommitted_files": len(dirty.splitlines()),
        "sha256": digest.hexdigest()[:16],
    }


# --- the machine ------------------------------------------------------------------------------------------


def _output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def describe_machine(server: Server, launch: dict[str, Launcher], systems: list[str]) -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    versions: dict[str, str] = {}
    for system in systems:
        launcher = launch[system]
        try:
            child = Child(launcher, server.url, "version", "version")
            versions[system] = str(child.result(120).get("version"))
        except AdapterError as exc:
            versions[system] = f"unavailable ({exc})"
    pythons = {
        system: _output([launch[system].argv[0], "-c", "import sys; print(sys.version.split()[0])"])
        for system in systems
        if system != "node-bullmq"
    }
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "server": server.kind,
        "redis_version": server.version(),
        "python_versions": pythons,
        "node_version": _output(["node", "--version"]) if "node-bullmq" in systems else None,
        "versions": versions,
    }


# --- main -----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition (CI smoke run)")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="size profile (overrides --quick)")
    parser.add_argument("--systems", help=f"comma list from {','.join(SYSTEMS)} (or 'all')")
    parser.add_argument("--scenarios", help=f"comma list from {','.join(SCENARIOS)}")
    parser.add_argument("--reps", type=int, help="repetitions (default: 3 full, 1 quick)")
    parser.add_argument("--scale", help="comma list of stored-job counts for the scale scenario")
    parser.add_argument("--fleet-n", type=int, help="jobs for the fleet scenario")
    parser.add_argument("--process-n", type=int, help="jobs for the process scenario")
    parser.add_argument("--no-install", action="store_true", help="use what is installed")
    parser.add_argument("--install-only", action="store_true")
    parser.add_argument(
        "--pybull-python", choices=["auto", "venv", "current"], default="auto",
        help="interpreter for the pybull adapter: the bench venv, this one, or venv if present",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="results directory (default benchmarks/results)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--no-chart", action="store_true", help="skip the PNG")
    return parser.parse_args(argv)


def choose_systems(args: argparse.Namespace, quick: bool) -> list[str]:
    if args.systems in (None, "") and quick:
        wanted = ["pybull", "node-bullmq"]
        wanted += [s for s in SYSTEMS[2:] if installed(s)]
        if not shutil.which("node"):
            wanted.remove("node-bullmq")
        return wanted
    if args.systems in (None, "", "all"):
        return list(SYSTEMS)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = set(systems) - set(SYSTEMS)
    if unknown:
        raise SystemExit(f"unknown systems {sorted(unknown)}; choose from {SYSTEMS}")
    return systems


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    profile_name = args.profile or ("quick" if args.quick else "full")
    profile = dict(PROFILES[profile_name])
    quick = profile_name != "full"
    if args.reps:
        profile["reps"] = args.reps
    if args.scale:
        profile["scale"] = [int(x) for x in args.scale.split(",")]
    if args.fleet_n:
        profile["fleet"] = args.fleet_n
    if args.process_n:
        profile["process"] = args.process_n
    systems = choose_systems(args, quick)
    scenarios = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else list(SCENARIOS)
    bad = set(scenarios) - set(SCENARIOS)
    if bad:
        raise SystemExit(f"unknown scenarios {sorted(bad)}; choose from {SCENARIOS}")

    venv_python = PY_VENV / "bin" / "python"
    use_venv = args.pybull_python == "venv" or (
        args.pybull_python == "auto" and (not quick or venv_python.exists())
    )
    if not args.no_install:
        install(systems, pybull_in_venv=use_venv)
    if args.install_only:
        return 0
    pybull_python = str(venv_python) if use_venv else sys.executable

    try:
        import redis  # noqa: F401  (the harness reads INFO with redis-py)
    except ImportError:
        if venv_python.exists() and Path(sys.executable) != venv_python:
            os.execv(str(venv_python), [str(venv_python), __file__, *(argv or sys.argv[1:]), "--no-install"])
        raise

    from report import write_reports

    out_dir = args.out or (HERE / "results" / ("quick" if quick else ""))
    out_dir.mkdir(parents=True, exist_ok=True)
    pybull_root, source = (REPO, None) if quick else snapshot_pybull()
    server = Server()
    try:
        launch = launchers(pybull_python, pybull_root)
        log(f"{server.kind} {server.version()} at {server.url}; {', '.join(systems)}; profile {profile_name}")
        meta = describe_machine(server, launch, systems)
        meta.update(profile=profile_name, reps=profile["reps"], sizes=dict(profile), pybull_source=source)
        meta["loadavg_start"] = round(os.getloadavg()[0], 2)
        runner = Runner(server, launch, profile)
        lines: list[dict[str, Any]] = []
        configs = plan(profile, scenarios)
        started = time.monotonic()
        for config in configs:
            for rep in range(profile["reps"]):
                order = systems[rep % len(systems) :] + systems[: rep % len(systems)]
                for system in order:
                    reason = not_applicable(system, config)
                    if reason:
                        line = failed_line(system, config, f"n/a: {reason}")
                    else:
                        try:
                            line = runner.run(system, config)
                        except AdapterError as exc:
                            log(f"FAILED {exc}")
                            line = failed_line(system, config, f"failed: {exc}"[:300])
                    line["rep"] = rep
                    lines.append(line)
                    print(json.dumps(line), flush=True)
                    if line.get("jobs_per_s") is not None:
                        log(f"{config.label:<28} {system:<14} rep {rep}: {line['jobs_per_s']:>10,.0f} jobs/s")
        meta["elapsed_s"] = round(time.monotonic() - started, 1)
        meta["loadavg_end"] = round(os.getloadavg()[0], 2)
    finally:
        server.stop()
        if pybull_root != REPO:
            shutil.rmtree(pybull_root, ignore_errors=True)

    stamp = dt.date.today().isoformat()
    paths = write_reports(
        meta, lines, out_dir, stamp, docs=None if (quick or args.no_docs) else REPO / "docs" / "benchmarks.md"
    )
    for path in paths:
        log(f"wrote {path}")
    if not args.no_chart:
        _chart(out_dir / f"{stamp}.json")
    return 0


def _chart(results_json: Path) -> None:
    """The PNG needs matplotlib: here if it imports, else with the bench venv's interpreter."""
    script = HERE / "report.py"
    try:
        import matplotlib  # noqa: F401

        python = sys.executable
    except ImportError:
        python = str(PY_VENV / "bin" / "python")
        if not Path(python).exists():
            log("no matplotlib here and no bench venv: chart skipped")
            return
    done = subprocess.run([python, str(script), "--chart", str(results_json)], check=False)
    if done.returncode != 0:
        log("chart failed (see above)")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
