"""`ace data` subcommands that check, look at and decide about a finished corpus:

ace data validate DIR                   every shard against docs/FORMAT.md
ace data stats DIR                      counts per split, task, status and score band
ace data select DIR                     near duplicates and quotas -> the curation table
ace data audit DIR                      DIR/report/index.html
ace data curate DIR --reject KEY... | --accept KEY... | --from FILE [--reason TEXT]
ace data export DIR --out NEW           new shards of the accepted samples only
ace data review DIR [--port P]          the review page on loopback: filter, look, decide
ace data bench DIR --out BENCH          a frozen benchmark of the samples people verified
"""

from __future__ import annotations

import getpass
import json
from collections import Counter
from pathlib import Path

from dataengine.commands.executor import add_executor_flags, executor_from
from dataengine.params import RecipeError
from dataengine.storage import as_path


def add_commands(commands) -> None:
    """Add the subcommands to `ace data`'s subparsers."""
    _add_validate(commands)
    _add_stats(commands)
    _add_select(commands)
    _add_audit(commands)
    _add_curate(commands)
    _add_export(commands)
    _add_damage(commands)
    _add_review(commands)
    _add_bench(commands)


def _add_validate(commands) -> None:
    validate = commands.add_parser("validate", help="check every shard against docs/FORMAT.md")
    validate.add_argument("out", type=as_path, help="a corpus folder or URL")
    validate.add_argument("--no-decode", action="store_true", help="skip decoding the images")
    validate.set_defaults(handler=_validate)


def _add_stats(commands) -> None:
    stats = commands.add_parser("stats", help="counts per task, status and score band")
    stats.add_argument("out", type=as_path, help="a corpus folder or URL")
    stats.add_argument("--json", action="store_true", help="print JSON instead of a table")
    stats.set_defaults(handler=_stats)


def _add_select(commands) -> None:
    select = commands.add_parser(
        "select", help="reject near duplicates and samples over quota (the curation table)"
    )
    select.add_argument("out", type=as_path, help="a corpus folder or URL")
    add_executor_flags(select)  # where the shards are hashed
    select.set_defaults(handler=_select)


def _add_audit(commands) -> None:
    audit = commands.add_parser("audit", help="write DIR/report/index.html")
    audit.add_argument("out", type=as_path, help="a corpus folder or URL")
    audit.add_argument("--per-task", type=int, default=6, help="gallery samples per task")
    audit.add_argument("--per-band", type=int, default=2, help="samples per score band")
    audit.set_defaults(handler=_audit)


def _add_curate(commands) -> None:
    curate = commands.add_parser(
        "curate", help="record accept/reject decisions (shards are not rewritten)"
    )
    curate.add_argument("out", type=as_path, help="a corpus folder or URL")
    which = curate.add_mutually_exclusive_group(required=True)
    which.add_argument("--reject", nargs="+", metavar="KEY", help="sample keys to reject")
    which.add_argument("--accept", nargs="+", metavar="KEY", help="keys to accept again")
    which.add_argument(
        "--verify", nargs="+", metavar="KEY", help="keys a person checked (for `ace data bench`)"
    )
    which.add_argument(
        "--from",
        dest="from_file",
        type=Path,
        metavar="FILE",
        help="keys to reject: one per line (a reason may follow), or a CSV/Parquet table "
        "with columns key[, decision][, reason][, by] (the audit page downloads one)",
    )
    curate.add_argument("--reason", help="why (recorded with every key given on the line)")
    curate.add_argument("--by", default=None, help="who decides (default: the login name)")
    curate.set_defaults(handler=_curate)


def _add_export(commands) -> None:
    from dataengine.export import FORMATS

    export = commands.add_parser(
        "export", help="write the accepted samples for another reader or trainer"
    )
    export.add_argument("out", type=as_path, help="a corpus folder or URL")
    export.add_argument("--out", dest="new", required=True, metavar="NEW")  # "" stays ""
    export.add_argument(
        "--format",
        choices=FORMATS,
        default="webdataset",
        help="webdataset: new shards (default); hf: Parquet for the Hub and `datasets`; "
        "instructpix2pix: diffusers' example trainer; ace: ACE's CSV folder (scepter); "
        "ace-plus: ACE++'s #;# list",
    )
    export.add_argument(
        "--strict",
        action="store_true",
        help="stop (before writing) if a sample cannot be expressed in the format, "
        "instead of leaving it out and counting it",
    )
    export.set_defaults(handler=_export)


def _add_damage(commands) -> None:
    damage = commands.add_parser(
        "damage", help="a copy of a corpus with its train samples made wrong, for ablations"
    )
    damage.add_argument("out", type=as_path, help="a corpus folder or URL")
    damage.add_argument("--out", dest="new", required=True, metavar="NEW")
    damage.add_argument(
        "--swap-targets", action="store_true", help="give each train sample another's target "
        "of the same task"
    )  # fmt: skip
    damage.add_argument(
        "--shuffle-instructions", type=float, default=0.0, metavar="F",
        help="give this fraction of train samples an instruction of another task",
    )  # fmt: skip
    damage.add_argument("--seed", type=int, default=0)
    damage.set_defaults(handler=_damage)


def _add_review(commands) -> None:
    review = commands.add_parser(
        "review", help="serve the review page on loopback: filter, look, accept/reject/verify"
    )
    review.add_argument("out", type=as_path, help="a corpus folder")
    review.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    review.add_argument("--reviewer", help="the name decisions are recorded under (default: "
                        "the login name; the page can change it)")  # fmt: skip
    review.set_defaults(handler=_review)


def _add_bench(commands) -> None:
    bench = commands.add_parser(
        "bench", help="freeze the verified samples into a benchmark for `ace model eval --bench`"
    )
    bench.add_argument("out", type=as_path, help="a corpus folder or URL")
    bench.add_argument("--out", dest="new", required=True, metavar="BENCH")
    bench.add_argument("--split", default="bench", help="take verified samples of this split "
                       "(default bench; 'all' for every split)")  # fmt: skip
    bench.add_argument("--per-task", type=int, default=None, metavar="N",
                       help="at most N samples per task (default: every verified one)")  # fmt: skip
    bench.set_defaults(handler=_bench)


# --------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------


def _damage(args) -> int:
    from dataengine.corpus.damage import Damage, damage_corpus

    damage = Damage(args.swap_targets, args.shuffle_instructions, args.seed)
    try:
        done = damage_corpus(args.out, args.new, damage)
    except (FileNotFoundError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    print(
        f"damaged {args.new}: {done['target']} train targets swapped, {done['instruction']} "
        "instructions shuffled; val and bench copied as they are"
    )
    return 0


def _review(args) -> int:
    from dataengine.corpus.read import corpus_folder, read_run_info
    from dataengine.review.server import serve
    from dataengine.storage import is_local

    if not is_local(args.out):
        raise RecipeError(f"{args.out}: review a local folder (copy the corpus here first)")
    if not 0 <= args.port <= 65535:
        raise RecipeError(f"--port {args.port} is not a port; give 0..65535 (0: any free one)")
    try:
        out = corpus_folder(args.out)
        name = read_run_info(out).get("recipe", {}).get("name") or out.name
        serve(out, args.port, args.reviewer or getpass.getuser(), name)
    except (FileNotFoundError, OSError) as exc:
        raise RecipeError(str(exc)) from None
    return 0


def _bench(args) -> int:
    from dataengine.corpus.bench import freeze_bench
    from dataengine.corpus.stats import counted

    if args.per_task is not None and args.per_task < 1:
        raise RecipeError(f"--per-task {args.per_task}: give 1 or more")
    try:
        done = freeze_bench(args.out, args.new, args.split, args.per_task)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    tasks = ", ".join(f"{task} {n}" for task, n in sorted(done.per_task.items()))
    print(f"benchmark {args.new}: {counted(done.samples, 'verified sample')} ({tasks}); manifest "
          f"{done.manifest}; evaluate with `ace model eval --bench {args.new}`")  # fmt: skip
    return 0


def _validate(args) -> int:
    from dataengine.corpus.stats import counted
    from dataengine.corpus.validate import validate_output

    try:
        report = validate_output(args.out, decode_images=not args.no_decode)
    except FileNotFoundError as exc:
        raise RecipeError(str(exc)) from None
    for problem in report.problems[:50]:
        print(problem)
    if len(report.problems) > 50:
        print(f"... and {counted(len(report.problems) - 50, 'more problem')}")
    verdict = "valid" if report.ok else f"INVALID ({counted(len(report.problems), 'problem')})"
    counts = [
        counted(report.shards, "shard"),
        counted(report.samples, "sample"),
        counted(report.rows, "index row"),
    ]
    if report.latent_shards:
        counts.append(counted(report.latent_shards, "latent shard"))
    print(f"{args.out}: {verdict}: {', '.join(counts)}")
    return 0 if report.ok else 1


def _stats(args) -> int:
    from dataengine.corpus.stats import corpus_stats, format_stats

    try:
        stats = corpus_stats(args.out)
    except FileNotFoundError as exc:
        raise RecipeError(str(exc)) from None
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def _select(args) -> int:
    from dataengine.corpus.selection import select_corpus

    try:
        with executor_from(args) as executor:
            done = select_corpus(args.out, executor)
    except (FileNotFoundError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    print(
        f"selection: {done.near_duplicates} near duplicates and {done.over_quota} samples "
        f"over quota rejected ({done.hashed_shards} shards hashed) -> {done.path}"
    )
    return 0


def _audit(args) -> int:
    from dataengine.audit.report import write_report
    from dataengine.audit.summary import Limits

    for name in ("per_task", "per_band"):
        if getattr(args, name) < 0:
            raise RecipeError(f"--{name.replace('_', '-')} is negative; give 0 or more")
    try:
        page = write_report(args.out, Limits(per_task=args.per_task, per_band=args.per_band))
    except FileNotFoundError as exc:
        raise RecipeError(str(exc)) from None
    print(f"report: {page} (open it in a browser)")
    return 0


def _curate(args) -> int:
    from dataengine.corpus.curation import check_decisions, now_utc, record_decisions
    from dataengine.corpus.stats import counted

    by, at = args.by or getpass.getuser(), now_utc()
    try:
        rows = _decisions(args)
        problems = check_decisions(args.out, rows)
    except (FileNotFoundError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    if not rows:
        raise RecipeError(f"--from {args.from_file}: no keys in it; nothing recorded")
    if problems:
        shown = "\n  ".join(problems[:20])
        raise RecipeError(f"nothing recorded; {counted(len(problems), 'problem')}:\n  {shown}")
    for row in rows:
        row.update(decided_at=at, by=row.get("by") or by)
    path = record_decisions(args.out, rows, by)
    counts = Counter(r["decision"] for r in rows)
    nouns = {"verify": "verification", "clear": "clearing"}
    made = ", ".join(counted(n, nouns.get(d, d)) for d, n in sorted(counts.items()))
    print(f"recorded {made} by {by} in {path}")
    return 0


def _decisions(args) -> list[dict]:
    from dataengine.corpus.curation import read_keys_file

    if args.from_file is not None:
        rows = read_keys_file(args.from_file)
        if args.reason:
            for row in rows:
                row["reason"] = row["reason"] or args.reason
        return rows
    decision, keys = next(
        (name, keys)
        for name in ("reject", "accept", "verify")
        if (keys := getattr(args, name)) is not None
    )
    return [{"key": k, "decision": decision, "reason": args.reason} for k in keys]


def _export(args) -> int:
    from dataengine.corpus.stats import counted
    from dataengine.export import export_corpus

    try:
        done = export_corpus(args.out, args.new, args.format, strict=args.strict)
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        raise RecipeError(str(exc)) from None
    if done.format == "webdataset":
        shards = len(list(Path(args.new).glob("stats/*.json")))
        print(
            f"exported {done.samples} samples in {shards} shards to {args.new} "
            f"({done.notes['curated_out']} left out by the curation table)"
        )
        return 0
    splits = ", ".join(f"{split} {n}" for split, n in done.written.items())
    print(f"exported {done.samples} samples ({splits}) as {done.format} to {args.new}")
    lost = "; ".join(f"{reason}: {n}" for reason, n in done.lost.most_common())
    print(f"left out {counted(sum(done.lost.values()), 'sample')} the format cannot express"
          + (f" ({lost})" if lost else ""))  # fmt: skip
    for name, value in done.notes.items():  # what the trainer's config must say
        print(f"  {name}: {value}")
    return 0
