"""The `vtonpipe` command.

    vtonpipe ingest vitonhd ROOT --out OUT        persons, garments, pairs manifests
    vtonpipe densepose|parse|masks|cloth-mask|tryon --out OUT
    vtonpipe run --out OUT                       every stage, in order (each resumes)
    vtonpipe evaluate --results DIR --gt DIR     FID, KID (+ SSIM, LPIPS with --paired)
    vtonpipe demo --out DIR                      synthetic dataset + tiny models, end to end
    vtonpipe devices [--ray-start-args]          OpenVINO devices and Ray resource flags
    vtonpipe models list|tiny|convert|fetch      official checkpoints -> OpenVINO IR
    vtonpipe report --out OUT                    status counts and error reasons per manifest
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from vtonpipe import __version__
from vtonpipe.errors import VtonpipeError


def _common_run_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run options (override the --config file)")
    g.add_argument("--out", help="output folder (default: out)")
    g.add_argument("--config", help="TOML config file (see vtonpipe/config.py for keys)")
    g.add_argument("--address", help="Ray cluster address (default: start an embedded local Ray)")
    g.add_argument("--workers", type=int, help="actors per stage (default: one per device unit)")
    g.add_argument("--threads", type=int, help="OpenVINO threads per actor (default: CPUs / CPU slots)")
    g.add_argument("--seed", type=int, help="run seed (default 0)")
    g.add_argument("--models-dir", help="folder of IR folders per family (default: <out>/models)")
    g.add_argument("--retry-failed", action="store_true", default=None, help="re-run only rows with status error")
    g.add_argument("--no-reuse-annotations", dest="reuse_annotations", action="store_false", default=None,
                   help="recompute parse/DensePose/masks even when the dataset ships them")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def _stage_flags(p: argparse.ArgumentParser, name: str) -> None:
    from vtonpipe.stages import stage_class

    cls = stage_class(name)
    for flags, kwargs in getattr(cls, "cli_options", []):
        # None = "not given": only given flags override the config file; the stage applies defaults.
        p.add_argument(*flags, **{**kwargs, "default": None})


def _config(args: argparse.Namespace, stage_names: list[str]):
    from vtonpipe.config import load_config

    overrides: dict[str, Any] = {k: getattr(args, k, None) for k in
                                 ("out", "address", "workers", "threads", "seed", "models_dir", "retry_failed",
                                  "reuse_annotations")}
    stage_opts: dict[str, dict[str, Any]] = {}
    from vtonpipe.stages import stage_class

    for name in stage_names:
        cls = stage_class(name)
        for flags, kwargs in getattr(cls, "cli_options", []):
            dest = kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")
            if getattr(args, dest, None) is not None:
                stage_opts.setdefault(name, {})[dest] = getattr(args, dest)
    overrides["stages"] = stage_opts
    return load_config(getattr(args, "config", None), overrides)


def cmd_ingest(args: argparse.Namespace) -> int:
    from vtonpipe.datasets import layouts
    from vtonpipe.datasets.ingest import ingest

    modes = tuple(args.modes.split(","))
    if args.layout == "vitonhd":
        scan = layouts.scan_vitonhd(args.root, tuple(args.splits.split(",")), modes)
    elif args.layout == "dresscode":
        scan = layouts.scan_dresscode(args.root, modes)
    else:
        scan = layouts.scan_catalog(args.persons, args.garments, args.category)
    summary = ingest(scan, args.out, workers=args.workers, progress=not args.no_progress)
    print(f"ingested into {args.out}/manifests (run {summary.run_id})")
    for name in ("persons", "garments", "pairs"):
        counts = getattr(summary, name)
        print(f"  {name:<9} " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for t, n in sorted(summary.errors.items()):
        print(f"  {n} x {t}")
    for p in summary.problems[:10]:
        print(f"  {p.error_type}: {p.message}")
    if len(summary.problems) > 10:
        print(f"  ... {len(summary.problems) - 10} more (see the pairs manifest rows with status error/skipped)")
    return 0


def run_stages(cfg, names: list[str], *, progress: bool, command: str) -> list:
    """Check every stage first (fail fast), then run them in order; print and record the summary."""
    from vtonpipe.manifests.io import new_run_id
    from vtonpipe.pipeline.runner import format_summary, record_run, run_stage
    from vtonpipe.stages import stage_class

    cfg.out = os.path.abspath(cfg.out)  # actors on other nodes do not share the driver's working directory
    stages = [stage_class(n)(cfg.out, cfg.stage_options(n)) for n in names]
    for stage in stages:
        stage.check()
    run_id = new_run_id()
    summaries = []
    try:
        for stage in stages:
            summaries.append(run_stage(stage, cfg, run_id, progress=progress))
    finally:
        print(format_summary(summaries))
        try:
            record_run(cfg.out, run_id, cfg, command, summaries)
        except (OSError, ValueError) as exc:  # never hide the run's own outcome behind run.json
            print(f"vtonpipe: warning: could not update {cfg.out}/run.json: {exc}", file=sys.stderr)
    return summaries


def cmd_stage(args: argparse.Namespace) -> int:
    cfg = _config(args, [args.command])
    run_stages(cfg, [args.command], progress=not args.no_progress, command=" ".join(sys.argv[1:]))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from vtonpipe.stages import available_stages

    names = args.stages.split(",") if args.stages else available_stages()
    unknown = [n for n in names if n not in available_stages()]
    if unknown:
        raise VtonpipeError(f"unknown or unavailable stages {unknown}; available: {available_stages()}")
    cfg = _config(args, names)
    run_stages(cfg, names, progress=not args.no_progress, command=" ".join(sys.argv[1:]))
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from vtonpipe.pipeline.devices import full_name, inventory, ray_resources, ray_start_args

    devices = inventory()
    if args.ray_start_args:
        print(ray_start_args(devices, args.cpu_slots))
        return 0
    for d in devices:
        print(f"{d:<8} {full_name(d)}")
    print(f"\nRay resources: {ray_resources(devices, args.cpu_slots)}")
    print(f"start this node with:  ray start ... {ray_start_args(devices, args.cpu_slots)}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from vtonpipe.models import families

    if args.models_command == "list":
        installed = set(families.installed_families())
        for name, text in families.FAMILIES.items():
            print(f"{name:<10} {'' if name in installed else '(not installed) '}{text}")
        return 0
    if args.models_command == "fetch":
        if args.family != "catvton":
            raise VtonpipeError("only `models fetch catvton DIR` is supported (it also brings SCHP/ and DensePose/)")
        families.fetch_catvton(args.dir)
        print(f"downloaded into {args.dir}/{{base,catvton,vae}}")
        return 0
    if args.models_command == "tiny":
        kwargs = dict(_key_value(kv) for kv in args.kw or [])
        ir = families.family_module(args.family, "tiny").build_tiny_ir(args.out, seed=args.seed, **kwargs)
        print(f"tiny {args.family} IR: {ir}")
        return 0
    path = families.family_module(args.family, "export").convert_from_args(args)
    print(f"{args.family} IR written to {path}")
    return 0


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise VtonpipeError(f"--kw expects KEY=VALUE, got {text!r}")
    return key, int(value) if value.lstrip("-").isdigit() else value


def cmd_report(args: argparse.Namespace) -> int:
    from vtonpipe.manifests.io import MANIFEST_KEYS, read_manifest, status_counts

    import pyarrow.compute as pc

    for name, key in MANIFEST_KEYS.items():
        table = read_manifest(args.out, name, key=key)
        if table is None:
            continue
        counts = status_counts(table)
        print(f"{name:<10} {table.num_rows:>8} rows  " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
        if "error_type" in table.column_names:
            errs = table.filter(pc.is_valid(table["error_type"]))
            if errs.num_rows:
                agg = errs.group_by("error_type").aggregate([("error_type", "count")])
                for t, n in zip(agg["error_type"].to_pylist(), agg["error_type_count"].to_pylist()):
                    print(f"{'':<12}{n} x {t}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from vtonpipe.demo import run_demo

    run_demo(args.out, progress=not args.no_progress)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vtonpipe.manifests.io import read_manifest
    from vtonpipe.stages.evaluate import evaluate_from_args, pair_images

    # With a pipeline output folder, the report's contact sheet shows person, garment and mask too.
    out = args.out or args.results
    pairs = read_manifest(out, "pairs")
    images_for = pair_images(pairs.to_pylist(), out) if pairs is not None else None
    evaluate_from_args(args, images_for=images_for)
    return 0


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser. Family converters (which import torch) are loaded only for `models convert`."""
    argv = sys.argv[1:] if argv is None else argv
    converting = [a for a in argv if not a.startswith("-")][:2] == ["models", "convert"]
    from vtonpipe.stages import available_stages
    from vtonpipe.models.families import FAMILIES, family_module, installed_families

    parser = argparse.ArgumentParser(prog="vtonpipe", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"vtonpipe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="scan a dataset folder into persons/garments/pairs manifests",
                       description="Probe every image (decodable, size, mode) and write manifests. Bad files "
                                   "become rows with status=error and a reason; ingest never aborts on one.")
    p.add_argument("layout", choices=["vitonhd", "dresscode", "catalog"])
    p.add_argument("root", nargs="?", help="dataset root (vitonhd, dresscode)")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--persons", help="catalog: folder of person images")
    p.add_argument("--garments", help="catalog: folder of garment images")
    p.add_argument("--category", default="upper", help="catalog: upper|lower|overall (default upper)")
    p.add_argument("--splits", default="train,test", help="vitonhd: splits to scan (default train,test)")
    p.add_argument("--modes", default="paired,unpaired", help="pair modes to record (default paired,unpaired)")
    p.add_argument("--workers", type=int, default=4, help="image-probing threads (default 4)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_ingest)

    for name in available_stages():
        from vtonpipe.stages import stage_class

        cls = stage_class(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else name
        p = sub.add_parser(name, help=doc, description=(cls.__doc__ or doc))
        _common_run_flags(p)
        _stage_flags(p, name)
        p.set_defaults(func=cmd_stage)

    p = sub.add_parser("run", help="run every available stage in order (each resumes where it stopped)")
    _common_run_flags(p)
    p.add_argument("--stages", help=f"comma-separated subset of {','.join(available_stages())}")
    for name in available_stages():
        _stage_flags(p, name)
    p.set_defaults(func=cmd_run)

    from vtonpipe.stages.evaluate import add_evaluate_arguments

    p = sub.add_parser("evaluate", help="FID, KID (+ SSIM, LPIPS when paired) of a results folder",
                       description="Evaluate any folder of try-on results against ground-truth person images "
                                   "(clean-fid FID and KID x 1000; torchmetrics SSIM and LPIPS-squeeze when --paired).")
    add_evaluate_arguments(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("demo", help="synthetic dataset + tiny models through the whole pipeline on local Ray")
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("devices", help="list this node's OpenVINO devices and the `ray start` resource flags")
    p.add_argument("--ray-start-args", action="store_true", help="print only the --resources flag for `ray start`")
    p.add_argument("--cpu-slots", type=int, default=1, help="CPU actors allowed on this node (default 1)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("models", help="official checkpoints -> OpenVINO IR folders")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="model families and whether they are installed")
    f = msub.add_parser("fetch", help="download CatVTON's official files (needs network access to the "
                                      "Hugging Face hub; not possible on an offline machine)")
    f.add_argument("family", choices=["catvton"])
    f.add_argument("dir")
    t = msub.add_parser("tiny", help="write a tiny preset (seeded random weights, official layout) and convert it")
    t.add_argument("family", choices=installed_families())
    t.add_argument("--out", required=True)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--kw", action="append", metavar="KEY=VALUE",
                   help="preset option, repeatable: e.g. --kw dataset=atr (schp), --kw height=128 (catvton)")
    c = msub.add_parser("convert", help="convert official weights to an OpenVINO IR folder (needs the convert extra)")
    csub = c.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for fam in installed_families():
        fp = csub.add_parser(fam, help=FAMILIES[fam])
        if converting:
            family_module(fam, "export").add_convert_arguments(fp)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("report", help="status counts and error reasons of every manifest in an output folder")
    p.add_argument("--out", default="out")
    p.set_defaults(func=cmd_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except VtonpipeError as exc:
        print(f"vtonpipe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vtonpipe: interrupted; rows already written are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
