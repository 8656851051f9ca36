"""Running stages: check every stage first, then plan and execute each in order, print the
summary and record the run (config, versions, timings) in <out>/run.json, also after Ctrl-C.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vtonpipe.atomic import atomic_write_bytes
from vtonpipe.config import Config
from vtonpipe.errors import ConfigError
from vtonpipe.manifests.io import new_run_id, part_files
from vtonpipe.models.common.ir import library_versions
from vtonpipe.pipeline.executors import Executor, make_executor
from vtonpipe.pipeline.plan import blocked_rows, plan_stage
from vtonpipe.pipeline.sink import ResultSink, StageSummary, format_summary
from vtonpipe.stages import build_stage
from vtonpipe.stages.base import Stage


def nothing_to_do(summary: StageSummary, retry_failed: bool) -> str:
    done = sum(summary.before.values())
    counts = ", ".join(f"{v} {k}" for k, v in sorted(summary.before.items())) or "none"
    hint = "; --retry-failed re-runs error rows" if summary.before.get("error") and not retry_failed else ""
    return f"nothing to do: {done} rows already recorded ({counts}){hint}"


def run_stage(stage: Stage, cfg: Config, run_id: str, executor: Executor, *, progress: bool = True,
              consumers: list[Stage] = (), flush_seconds: float = 5.0, summary: StageSummary | None = None,
              on_rows: Callable[[int], None] | None = None) -> StageSummary:
    """Plan and process every due row of one (checked) stage; return what happened.

    `summary` is filled in as rows finish (so a caller still has it after Ctrl-C); `on_rows(rows
    done)` is called after each result table (tests use it to interrupt a run).
    """
    summary = summary or StageSummary(stage.manifest)
    plan = plan_stage(stage, cfg.out, retry_failed=cfg.retry_failed, rerun_stale=cfg.rerun_stale, consumers=consumers)
    summary.todo, summary.before = plan.todo, plan.before
    summary.stale_kept, summary.not_needed, summary.waiting = plan.stale_kept, plan.not_needed, plan.waiting
    if plan.todo == 0 and plan.blocked_rows == 0:
        summary.message = nothing_to_do(summary, cfg.retry_failed)
        return summary
    sink = ResultSink(cfg.out, stage.manifest, run_id, summary, total=plan.todo, progress=progress,
                      flush_seconds=flush_seconds)
    if on_rows is not None:
        add = sink.add

        def add_and_report(table, **kwargs):
            add(table, **kwargs)
            on_rows(summary.done)

        sink.add = add_and_report
    try:
        for table in blocked_rows(plan, stage):
            sink.add(table, blocked=True)
        if plan.todo:
            executor.map_rows(stage, plan, sink)
    except KeyboardInterrupt:
        summary.interrupted = True
        raise
    finally:
        sink.close()
    return summary


def run_stages(cfg: Config, names: list[str], *, progress: bool = True, command: str = "",
               print_summary: bool = True, skip_unneeded: bool = True) -> list[StageSummary]:
    """Check every stage (fail fast, before any row), then run them in order; print and record.

    With `skip_unneeded`, a stage leaves out rows that no later stage of this run needs (their
    maps come from the dataset).
    """
    stages = [build_stage(name, cfg) for name in names]
    for stage in stages:
        if not part_files(cfg.out, stage.input):
            raise ConfigError(f"no {stage.input!r} manifest in {cfg.out}: run `vtonpipe ingest ... --out {cfg.out}` first")
    for stage in stages:
        stage.check()
    executor = make_executor(cfg.executor, cfg)
    run_id = new_run_id()
    summaries: list[StageSummary] = []
    try:
        for i, stage in enumerate(stages):
            consumers = [s for s in stages[i + 1:] if stage.name in s.upstream and s.input == stage.input]
            consumers = consumers if skip_unneeded else []
            summaries.append(StageSummary(stage.manifest))
            try:
                run_stage(stage, cfg, run_id, executor, progress=progress, consumers=consumers, summary=summaries[-1])
            except ConfigError:
                if not summaries[-1].done and not summaries[-1].blocked:
                    summaries.pop()  # refused before its first row: nothing to show or record
                raise
    finally:
        if summaries:
            report_run(cfg, run_id, command, summaries, print_summary)
    return summaries


def report_run(cfg: Config, run_id: str, command: str, summaries: list[StageSummary], print_summary: bool) -> None:
    """Print the summary table and append the run to run.json."""
    if print_summary:
        print(format_summary(summaries))
    try:
        path = record_run(cfg.out, run_id, cfg, command, summaries)
        if print_summary:
            print(f"manifests: {Path(cfg.out) / 'manifests'}   run record: {path}")
    except (OSError, ValueError) as exc:  # never hide the run's own outcome behind run.json
        print(f"vtonpipe: warning: could not update {cfg.out}/run.json: {exc}", file=sys.stderr)


def record_run(out_dir: str, run_id: str, cfg: Config, command: str, summaries: list[Any]) -> Path:
    """Append this run (config, versions, timings) to <out>/run.json, atomically."""
    path = Path(out_dir) / "run.json"
    try:
        runs = json.loads(path.read_text()).get("runs", []) if path.is_file() else []
    except ValueError:
        runs = []  # a damaged record is replaced rather than blocking every later run
    runs.append({
        "run_id": run_id,
        "command": command,
        "config": cfg.to_dict(),
        "versions": library_versions(),
        "stages": [asdict(s) if hasattr(s, "__dataclass_fields__") else s for s in summaries],
    })
    atomic_write_bytes(path, json.dumps({"runs": runs}, indent=2, default=str).encode())
    return path
