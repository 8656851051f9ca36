"""The `vtonpipe` command.

    vtonpipe ingest vitonhd ROOT --out OUT        persons, garments, pairs manifests
    vtonpipe densepose|parse|masks|cloth-mask|tryon --out OUT
    vtonpipe run --out OUT                       the stages try-on needs, in order (each resumes)
    vtonpipe evaluate --results DIR --gt DIR     FID, KID (+ SSIM, LPIPS when paired)
    vtonpipe evaluate --results DIR --against DIR   two results folders of the same pairs, side by side
    vtonpipe report --out OUT                    progress and error reasons per manifest
    vtonpipe export --out OUT --to DIR --layout vitonhd|dresscode   a dataset folder upstream loaders read
    vtonpipe demo --out DIR                      synthetic dataset + tiny models, end to end
    vtonpipe devices [--ray-start-args]          OpenVINO devices and Ray resource flags
    vtonpipe models list|tiny|convert|fetch      official checkpoints -> OpenVINO IR

Building the parser imports neither OpenVINO nor torch: stage modules load their runtimes when
they run, and family converters (torch) load only for `models convert` and `models tiny`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vtonpipe import __version__
from vtonpipe.errors import ConfigError, VtonpipeError

RUN_FLAGS = ("out", "address", "executor", "workers", "threads", "cpu_slots", "cache_dir", "seed", "models_dir",
             "retry_failed", "rerun_stale", "reuse_annotations", "verbose")


def _run_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("run options (override the --config file)")
    g.add_argument("--out", help="output folder (default: out)")
    g.add_argument("--config", help="TOML config file (keys: `vtonpipe/config.py`; stage tables [stages.<name>])")
    g.add_argument("--address", help="Ray cluster address, e.g. auto (default: start an embedded local Ray)")
    g.add_argument("--executor", choices=("ray", "local"), help="ray: Ray Data actors (default); local: this process")
    g.add_argument("--workers", type=int, help="actors per stage (default: one per device unit)")
    g.add_argument("--threads", type=int, help="OpenVINO threads per actor (default: CPUs / CPU slots)")
    g.add_argument("--cpu-slots", type=int, help="CPU actors per node on a local Ray (default 1)")
    g.add_argument("--cache-dir", help="node-local OpenVINO compile cache (default ~/.cache/vtonpipe/ov)")
    g.add_argument("--seed", type=int, help="run seed (default 0)")
    g.add_argument("--models-dir", help="folder of IR folders per model (default: <out>/models)")
    g.add_argument("--retry-failed", action="store_const", const=True, help="re-run only rows with status error")
    g.add_argument("--rerun-stale", action="store_const", const=True,
                   help="also redo rows made by another model, version or result-shaping option")
    g.add_argument("--no-reuse-annotations", dest="reuse_annotations", action="store_const", const=False,
                   help="compute parse/DensePose/masks even when the dataset ships them")
    g.add_argument("--verbose", action="store_const", const=True, help="show Ray's own log lines")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")


def _stage_help(name: str) -> tuple[str, str]:
    """(one-line help, description) of a stage: its docstring, what must run first, its config keys."""
    from vtonpipe.stages import stage_class
    from vtonpipe.stages.options import option_table

    cls = stage_class(name)
    doc = (cls.__doc__ or name).strip()
    before = (f"Runs on the {cls.input} manifest from `vtonpipe ingest`, after "
              f"{' / '.join(cls.upstream)} where its options read their output (or the dataset ships it).")\
        if cls.upstream else f"Runs on the {cls.input} manifest from `vtonpipe ingest`."
    keys = option_table(cls.Options)
    description = f"{doc}\n\n{before}\n" + (f"\nConfig keys ([stages.{name}] in --config):\n{keys}\n" if keys else "")
    return doc.splitlines()[0], description


def _config(args: argparse.Namespace, stage_names: list[str]):
    from vtonpipe.config import load_config
    from vtonpipe.stages import stage_class

    overrides: dict[str, Any] = {k: getattr(args, k, None) for k in RUN_FLAGS}
    stage_opts: dict[str, dict[str, Any]] = {}
    for name in stage_names:
        import dataclasses

        for f in dataclasses.fields(stage_class(name).Options):
            value = getattr(args, f.name, None)
            if value is not None:
                stage_opts.setdefault(name, {})[f.name] = value
    overrides["stages"] = stage_opts
    return load_config(getattr(args, "config", None), overrides)


def _finish(summaries: list) -> int:
    """Exit status of a run: 1 when a stage processed rows and every one failed."""
    failed = [s.stage for s in summaries if s.all_failed]
    if failed:
        print(f"vtonpipe: every row of {', '.join(failed)} failed (see the errors above)", file=sys.stderr)
        return 1
    return 0


def cmd_stage(args: argparse.Namespace) -> int:
    from vtonpipe.pipeline.run import run_stages

    cfg = _config(args, [args.command])
    return _finish(run_stages(cfg, [args.command], progress=not args.no_progress, command=" ".join(sys.argv[1:])))


def cmd_run(args: argparse.Namespace) -> int:
    from vtonpipe.pipeline.run import run_stages
    from vtonpipe.stages import STAGES, default_chain

    if args.stages:
        names = [n.strip() for n in args.stages.split(",") if n.strip()]
        unknown = [n for n in names if n not in STAGES]
        if unknown:
            raise ConfigError(f"unknown stage{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                              f"stages: {', '.join(STAGES)}")
        names = [n for n in STAGES if n in names]
        cfg = _config(args, names)
    else:
        cfg = _config(args, list(STAGES))
        names = default_chain(cfg)
        print(f"stages: {', '.join(names)}")
    return _finish(run_stages(cfg, names, progress=not args.no_progress, command=" ".join(sys.argv[1:])))


def cmd_ingest(args: argparse.Namespace) -> int:
    from vtonpipe.datasets import layouts
    from vtonpipe.datasets.ingest import ingest

    modes = layouts.parse_choices(args.modes, layouts.PAIR_MODES, "--modes")
    if args.layout == "catalog":
        if args.root:
            raise ConfigError("ingest catalog takes --persons DIR --garments DIR, not a root folder")
        if not args.persons or not args.garments:
            raise ConfigError("ingest catalog needs --persons DIR and --garments DIR")
        scan = layouts.scan_catalog(args.persons, args.garments, args.category)
    else:
        if not args.root:
            raise ConfigError(f"ingest {args.layout} needs the dataset root folder: vtonpipe ingest {args.layout} ROOT")
        if args.layout == "vitonhd":
            splits = layouts.parse_choices(args.splits, layouts.VITONHD_SPLITS, "--splits")
            scan = layouts.scan_vitonhd(args.root, splits, modes)
        else:
            scan = layouts.scan_dresscode(args.root, modes)
    summary = ingest(scan, args.out, workers=args.probe_threads, progress=not args.no_progress)
    print(f"ingested into {args.out}/manifests (run {summary.run_id})")
    for name in ("persons", "garments", "pairs"):
        counts = getattr(summary, name)
        print(f"  {name:<9} " + (", ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "none"))
    for t, n in sorted(summary.errors.items()):
        print(f"  {n} x {t}")
    for p in summary.problems[:10]:
        print(f"  {p.error_type}: {p.message}")
    if len(summary.problems) > 10:
        print(f"  ... {len(summary.problems) - 10} more (`vtonpipe report --out {args.out}` lists the reasons)")
    if not summary.persons.get("ok") and not summary.garments.get("ok"):
        print("vtonpipe: no usable person or garment image was found", file=sys.stderr)
        return 1
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
        for name in families.installed_families():
            info = families.family(name)
            print(f"{name:<12} {info.DESCRIPTION}\n{'':<12} weights: {info.WEIGHTS}\n{'':<12} licence: {info.LICENSE}")
        return 0
    if args.models_command == "fetch":
        from vtonpipe.models.catvton.fetch import fetch_catvton

        fetch_catvton(args.dir)
        print(f"downloaded into {args.dir}/{{base,catvton,vae}}")
        return 0
    if args.models_command == "tiny":
        build_tiny(args.family, args.out, args.seed, args.kw or [])
        return 0
    from vtonpipe.datasets.calibration import pair_source

    calibration = pair_source(getattr(args, "calib_pairs", None), getattr(args, "calib_masks", None))
    path = families.family_module(args.family, "export").convert_from_args(args, calibration)
    print(f"{args.family} IR written to {path}")
    return 0


def _preset_value(text: str, default: Any) -> Any:
    """A --kw value parsed as the type of the option's default."""
    if isinstance(default, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ConfigError(f"expected true or false, got {text!r}")
        return text.lower() in ("true", "1")
    if isinstance(default, (int, float)):
        try:
            return type(default)(text)
        except ValueError:
            raise ConfigError(f"expected a {type(default).__name__}, got {text!r}") from None
    if isinstance(default, tuple):
        return tuple(int(v) for v in text.split(","))
    return text


def build_tiny(family: str, out: str, seed: int, kw: list[str]) -> None:
    """`models tiny`: the preset's weights, their IR, and a first compile, a line per phase."""
    import logging
    import time

    from vtonpipe.models.families import family_module, runtime_class, tiny_options

    allowed = tiny_options(family)
    options: dict[str, Any] = {}
    for item in kw:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"--kw expects KEY=VALUE, got {item!r}")
        if key not in allowed:
            raise ConfigError(f"{family} has no preset option {key!r}; options: "
                              + (", ".join(f"{k} (default {v})" for k, v in allowed.items()) or "none"))
        try:
            options[key] = _preset_value(text, allowed[key])
        except ConfigError as exc:
            raise ConfigError(f"--kw {key}: {exc}") from None
    log = logging.getLogger("vtonpipe.models")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        ir = family_module(family, "tiny").build_tiny_ir(out, seed=seed, **options)
    finally:
        log.removeHandler(handler)
    start = time.perf_counter()
    runtime_class(family)(ir)
    print(f"  compiled on CPU ({time.perf_counter() - start:.1f} s)")
    print(f"tiny {family} IR folder: {ir}")


def cmd_report(args: argparse.Namespace) -> int:
    from vtonpipe.pipeline.report import print_report

    print_report(args.out)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from vtonpipe.export.run import export_dataset, summary_lines

    if not args.to or not args.layout:
        raise ConfigError("export needs --to DIR and --layout vitonhd|dresscode")
    result = export_dataset(args.out, args.to, args.layout, split=args.split, link=args.link,
                            overwrite=args.overwrite)
    print("\n".join(summary_lines(result)))
    return result.exit_code


def cmd_demo(args: argparse.Namespace) -> int:
    from vtonpipe.demo import run_demo

    return run_demo(args.out, progress=not args.no_progress)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from vtonpipe.eval.command import evaluate_from_args

    evaluate_from_args(args)
    return 0


def _evaluate_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--results", required=True, help="folder of result images of ONE split and mode, e.g. "
                   "out/results/catvton/test/paired (searched recursively)")
    p.add_argument("--gt", help="folder of ground-truth PERSON images of the results' split (never garments), "
                   "e.g. DATASET/test/image")
    p.add_argument("--against", metavar="OTHER_RESULTS", help="instead of --gt: results of the same pairs (matched "
                   "by file name) to compare with, e.g. the full-precision model's: SSIM/LPIPS per pair, FID/KID")
    p.add_argument("--paired", action="store_const", const=True, help="paired setting: add per-pair SSIM and LPIPS "
                   "(implied by a results/<model>/<split>/paired folder)")
    p.add_argument("--out", help="output folder; the evaluation goes to <out>/eval/... (default: the output folder "
                   "holding --results, else --results)")
    p.add_argument("--config", help="TOML config file (models_dir, cache_dir, threads are read from it)")
    p.add_argument("--models-dir", help="holds the inception/ and lpips/ IR folders (default: <out>/models)")
    p.add_argument("--inception-ir", help="Inception IR folder (default <models-dir>/inception)")
    p.add_argument("--lpips-ir", help="LPIPS IR folder (default <models-dir>/lpips)")
    p.add_argument("--device", default="CPU", help="OpenVINO device (default CPU)")
    p.add_argument("--threads", type=int, help="OpenVINO inference threads")
    p.add_argument("--cache-dir", help="OpenVINO compile cache folder")
    p.add_argument("--stats-cache", help="reference-statistics cache folder (default <out>/eval/cache)")
    p.add_argument("--sample", type=int, default=12, help="pairs shown in the report's contact sheet, worst first")
    p.add_argument("--seed", type=int, default=0, help="seed of KID's subset draw")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser. Family converters (torch) load only for `models convert` / `models tiny`."""
    from vtonpipe.models.families import installed_families
    from vtonpipe.stages import STAGES
    from vtonpipe.stages.options import add_option_flags

    argv = sys.argv[1:] if argv is None else argv
    words = [a for a in argv if not a.startswith("-")][:2]
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="vtonpipe", description=__doc__, formatter_class=formatter)
    parser.add_argument("--version", action="version", version=f"vtonpipe {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="scan a dataset folder into persons/garments/pairs manifests",
                       formatter_class=formatter, description=(
                           "Probe every image (decodable, size, mode, EXIF orientation) and write the persons, "
                           "garments and pairs manifests. Bad files become rows with status=error and a reason; "
                           "ingest never aborts on one.\n\n"
                           "  vtonpipe ingest vitonhd ROOT [--splits test]      ROOT holds test/image, test_pairs.txt\n"
                           "  vtonpipe ingest dresscode ROOT                    ROOT holds upper_body/, ...\n"
                           "  vtonpipe ingest catalog --persons DIR --garments DIR [--category upper]"))
    p.add_argument("layout", choices=["vitonhd", "dresscode", "catalog"])
    p.add_argument("root", nargs="?", help="dataset root (required for vitonhd and dresscode; not for catalog)")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--persons", help="catalog: folder of person images")
    p.add_argument("--garments", help="catalog: folder of garment images")
    p.add_argument("--category", default="upper", help="catalog: upper|lower|overall (default upper)")
    p.add_argument("--splits", default="test", help="vitonhd: comma-separated splits to scan (default: test, the "
                   "evaluation split; use train,test to preprocess the whole dataset)")
    p.add_argument("--modes", default="paired,unpaired", help="pair modes to record (default paired,unpaired)")
    p.add_argument("--probe-threads", type=int, default=4, help="image-probing threads (default 4)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_ingest)

    for name in STAGES:
        short, description = _stage_help(name)
        p = sub.add_parser(name, help=short, description=description, formatter_class=formatter)
        _run_flags(p)
        from vtonpipe.stages import stage_class

        add_option_flags(p.add_argument_group(f"{name} options"), stage_class(name).Options)
        p.set_defaults(func=cmd_stage)

    p = sub.add_parser("run", help="run the stages try-on needs, in order (each resumes where it stopped)",
                       formatter_class=formatter, description=(
                           "Run stages in order. By default: every stage the configured try-on model needs, plus "
                           "cloth-mask. Rows whose maps the dataset ships (and later stages read) are not "
                           "computed by model stages. Stage options of every stage are accepted."))
    _run_flags(p)
    p.add_argument("--stages", help=f"comma-separated subset of {','.join(STAGES)}")
    seen: set[str] = set()
    for name in STAGES:
        import dataclasses

        from vtonpipe.stages import stage_class

        cls = stage_class(name).Options
        if {f.name for f in dataclasses.fields(cls)} & seen:
            raise RuntimeError(f"stage options of {name} clash with another stage's; rename them")
        seen |= {f.name for f in dataclasses.fields(cls)}
        add_option_flags(p.add_argument_group(f"{name} options"), cls)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("evaluate", help="FID, KID (+ SSIM, LPIPS when paired) of a results folder",
                       formatter_class=formatter, description=(
                           "Evaluate a folder of try-on results against ground-truth person images (clean-fid FID\n"
                           "and KID x 1000; torchmetrics SSIM and LPIPS-squeeze when paired), or against another\n"
                           "results folder of the same pairs (--against). Refuses (exit status 2) a folder that\n"
                           "mixes splits or modes, GT of another split, paired results without any GT; warns about\n"
                           "results without GT, mismatched or small sets. Prints the metrics and where the summary\n"
                           "and the HTML report are:\n\n"
                           "  <out>/eval/<model>/<split>/<mode>/          for <out>/results/<model>/<split>/<mode>\n"
                           "  <out>/eval/<folder name>/<mode>/            for any other folder\n"
                           "  <evaluation folder>/against/<other name>/   with --against"))
    _evaluate_flags(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("report", help="progress against the input and error reasons of every manifest",
                       description="Per manifest: rows ok/error/skipped against the rows of its input "
                                   "(e.g. tryon 243/90000 ok), stale rows, and the reasons behind errors.")
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="write a VITON-HD or DressCode dataset folder that upstream loaders read",
                       formatter_class=formatter, description=(
                           "Export the ok rows of an output folder as a dataset folder that StableVITON's "
                           "VITONHDDataset, CatVTON's VITONHDTestDataset / DressCodeTestDataset and HR-VITON's "
                           "CPDatasetTest read unchanged: photos, stage outputs (agnostic images and masks, "
                           "DensePose, cloth masks, and parse/pose folders when present) and pairs files. "
                           "Files are hard links where possible (else copies); re-exports are idempotent and "
                           "never replace a file an export did not write unless --overwrite. Persons, garments "
                           "and pairs left out are listed with the reason.\n\n"
                           "  vtonpipe export --out OUT --to DIR --layout vitonhd [--split test]\n"
                           "  vtonpipe export --out OUT --to DIR --layout dresscode"))
    p.add_argument("--out", default="out", help="output folder (default: out)")
    p.add_argument("--to", metavar="DIR", help="dataset folder to write (created if absent)")
    p.add_argument("--layout", metavar="vitonhd|dresscode", help="dataset layout to write")
    p.add_argument("--split", help="export only this split (default: every split the pairs hold)")
    p.add_argument("--link", default="hard", metavar="hard|symlink|copy", help="how files get there (default hard); "
                   "links fall back to copies where the file system refuses them")
    p.add_argument("--overwrite", action="store_true", help="replace existing files an export did not write")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("demo", help="synthetic dataset + tiny models through the whole pipeline on local Ray",
                       description="Writes a small synthetic VITON-HD-style dataset and tiny random-weight models "
                                   "(official file layouts, converted to OpenVINO IR), then ingests, runs every "
                                   "stage on a local Ray and evaluates. Reruns resume.")
    p.add_argument("--out", default="demo-out", help="output folder (default: demo-out)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("devices", help="list this node's OpenVINO devices and the `ray start` resource flags",
                       description="Lists the OpenVINO devices of this machine and the --resources flag that "
                                   "advertises them to Ray (ov_cpu, ov_gpu, ov_npu).")
    p.add_argument("--ray-start-args", action="store_true", help="print only the --resources flag for `ray start`")
    p.add_argument("--cpu-slots", type=int, default=1, help="CPU actors allowed on this node (default 1)")
    p.set_defaults(func=cmd_devices)

    p = sub.add_parser("models", help="official checkpoints -> OpenVINO IR folders (and weights licences)")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    msub.add_parser("list", help="model families, their official files and weight licences")
    f = msub.add_parser("fetch", help="download CatVTON's official files (needs network access to the "
                                      "Hugging Face hub; not possible on an offline machine)")
    f.add_argument("family", choices=["catvton"])
    f.add_argument("dir")
    tiny_epilog = ""
    if words == ["models", "tiny"]:
        from vtonpipe.models.families import tiny_options

        tiny_epilog = "preset options (--kw KEY=VALUE):\n" + "\n".join(
            f"  {fam:<12} " + (", ".join(f"{k}={v}" for k, v in tiny_options(fam).items()) or "none")
            for fam in installed_families())
    t = msub.add_parser("tiny", help="write a tiny preset (seeded random weights, official layout) and convert it",
                        epilog=tiny_epilog, formatter_class=formatter)
    t.add_argument("family", choices=installed_families())
    t.add_argument("--out", required=True, help="the IR folder to write (the folder a stage reads, e.g. out/models/schp-lip)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--kw", action="append", metavar="KEY=VALUE",
                   help="preset option, repeatable: e.g. --kw dataset=atr (schp), --kw height=128 (catvton)")
    c = msub.add_parser("convert", help="convert official weights to an OpenVINO IR folder (needs the convert extra)")
    csub = c.add_subparsers(dest="family", required=True, metavar="FAMILY")
    for fam in installed_families():
        from vtonpipe.models.families import family, family_module

        fp = csub.add_parser(fam, help=f"{family(fam).DESCRIPTION} (weights licence: {family(fam).LICENSE})")
        if words == ["models", "convert"]:
            family_module(fam, "export").add_convert_arguments(fp)
    p.set_defaults(func=cmd_models)
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
        print("vtonpipe: interrupted; rows already written are kept, rerun the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
