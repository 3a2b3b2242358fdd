"""``python -m extract``: the command line.

Configuration comes from the environment (see ``.env.example``) and flags override it.
Wrong or missing configuration prints one line and exits 2; a run where some site failed
exits 1; another run holding a site's lock (or the lake's) exits 3.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from .core import logs
from .core.cliargs import add_site_or_shard, duration_arg, instant_arg, zone_arg
from .core.config import ALLOWED_PAGE_SIZES, Settings
from .core.envhelp import EPILOG
from .core.errors import ConfigError, ExtractError, InputError, LockHeld
from .core.shard import Shard
from .landing.summary import print_summary
from .ops import chart, export, prune, spark, sqlshell, status
from .source.client import FlightDeckClient

log = logging.getLogger("extract")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED = 0, 1, 2, 3


def _common(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("common options")
    g.add_argument("--lake", type=Path, help="lake root (default: $LAKE_DIR or lake)")
    g.add_argument("--log-level", default="info",
                   choices=["debug", "info", "warning", "error"], help="default: info")
    g.add_argument("--log-format", default="text", choices=["text", "json"],
                   help="json gives one JSON object per line, for log collectors")


def _api(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("API options")
    g.add_argument("--page-size", type=int, choices=ALLOWED_PAGE_SIZES, metavar="N",
                   help="API page size, one of the sizes the API accepts (default 100000)")
    g.add_argument("--max-rps", type=float, help="request-rate ceiling (default 10/s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m extract",
        description="Land raw ACE FlightDeck samples as immutable Parquet and build the "
                    "warehouse over them.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "sync", help="fetch every site's new samples since its checkpoint",
        description="Fetch [checkpoint - lookback, until - settle) per site in checkpointed "
                    "chunks and land what is new or changed. A failing site keeps its "
                    "checkpoint and does not stop the others.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_site_or_shard(p, "sync")
    p.add_argument("--until", type=instant_arg("--until"), metavar="INSTANT",
                   help="end of what is fetched, ISO 8601 (default: now; at most now plus "
                        "EXTRACT_CLOCK_SKEW)")
    p.add_argument("--lookback", type=duration_arg("--lookback"), metavar="DUR",
                   help="re-read this much before the checkpoint (default 2h)")
    p.add_argument("--initial-history", type=duration_arg("--initial-history"), metavar="DUR",
                   help="history fetched on a site's first sync (default 24h)")
    p.add_argument("--settle", type=duration_arg("--settle"), metavar="DUR",
                   help="stay this far behind --until (default 1m)")
    p.add_argument("--chunk", type=duration_arg("--chunk"), metavar="DUR",
                   help="checkpointed window size (default 6h)")
    _api(p)
    _common(p)

    p = sub.add_parser(
        "backfill", help="land a site's history for a time range",
        description="Fetch [start, end) for one site in UTC-day chunks as source=backfill. "
                    "Resumable (rerun the same command) and idempotent.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", required=True, help="a site of the API's /sites list")
    p.add_argument("--start", required=True, type=instant_arg("--start"), metavar="INSTANT")
    p.add_argument("--end", required=True, type=instant_arg("--end"), metavar="INSTANT",
                   help="end of the range, exclusive (at most now plus EXTRACT_CLOCK_SKEW)")
    p.add_argument("--restart", action="store_true",
                   help="ignore the saved progress of this job and start from --start")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _api(p)
    _common(p)

    p = sub.add_parser(
        "import", help="land exported Parquet/CSV history as source=import",
        description="Each file needs point (or name), time (ts/time/timestamp) and value "
                    "columns, and a site column or --site. Rows that cannot be used (an "
                    "unparseable time or point, a ragged CSV row, bytes that are not UTF-8, "
                    "a time outside EXTRACT_IMPORT_EARLIEST .. now + EXTRACT_IMPORT_AHEAD, "
                    "an ambiguous or nonexistent local time) are quarantined with the "
                    "reason; the others land. Each file is independent: one that cannot "
                    "be read is reported and the others land (exit status 2). Within a "
                    "file, the last row of a (site, point, ts) wins; a later file wins "
                    "over an earlier one.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--site", help="site of every row, for files without a site column "
                                  "(checked against the API's /sites list when configured)")
    p.add_argument("--timezone", type=zone_arg("--timezone"), metavar="ZONE",
                   help="naive times are local times of this IANA zone, e.g. "
                        "America/New_York (default: naive times are UTC)")
    _common(p)

    p = sub.add_parser(
        "checkpoint", help="show a site's checkpoint, or move it with --set",
        description="Show where a site's sync will resume (state/checkpoints/<site>.json), "
                    "or move it with --set, which holds the site's lock like a sync. Moving it "
                    "back makes the next sync fetch again from there (less the look-back); "
                    "a --set later than now minus the settle time is refused.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", required=True, help="a site of the API's /sites list")
    p.add_argument("--set", dest="set_to", type=instant_arg("--set"), metavar="INSTANT",
                   help="write this checkpoint, ISO 8601 (the old one is logged)")
    _common(p)

    p = sub.add_parser(
        "simulate", help="serve the local FlightDeck stand-in on loopback",
        description="A local HTTP stand-in for the FlightDeck API with deterministic "
                    "synthetic data (see docs/standin.md).")
    p.add_argument("args", nargs=argparse.REMAINDER,
                   help="options of the stand-in, e.g. --port 8765 --seed 7 (see "
                        "`python -m extract simulate --help`)")

    p = sub.add_parser(
        "report", help="write the data-quality report (report/index.html) of a warehouse",
        description="A static, self-contained HTML page: coverage heatmap, gap timeline, "
                    "points to look at, freshness, worst points, dbt test results "
                    "(docs/report.md). Options: `python -m extract report --help`.")
    p.add_argument("args", nargs=argparse.REMAINDER,
                   help="options of the report, e.g. --warehouse published/current.duckdb")

    p = sub.add_parser(
        "publish", help="publish the built warehouse as the analysts' read-only snapshot",
        description="Copy WAREHOUSE_PATH to PUBLISHED_DIR/warehouse-<id>.duckdb and point "
                    "PUBLISHED_DIR/current.duckdb at it (the main job does this after "
                    "every successful build).")
    p.add_argument("--keep", type=int, default=3, help="snapshots kept (default 3)")

    p = sub.add_parser("prune-raw", help=prune.HELP, description=prune.DESCRIPTION,
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    prune.add_arguments(p)
    _common(p)

    for name, text in (
        ("run", "the main job: sync every site, ask again for recent gaps, build and test "
                "the warehouse, move old raw samples to the cold tier, publish the "
                "analysts' snapshot, write the data-quality report"),
        ("demo", "run the main job against the local stand-in and show the results"),
    ):
        p = sub.add_parser(name, help=text, description=text + ". Without ACE_API_KEY "
                           "the local stand-in is started and used, and the run says so.",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--until", type=instant_arg("--until"), metavar="INSTANT",
                       help="end of what is fetched (default: now; at most now plus "
                            "EXTRACT_CLOCK_SKEW)")
        p.add_argument("--skip-dbt", action="store_true", help="only sync")
        add_site_or_shard(p, "sync and repair")
        p.add_argument("--no-repair", action="store_true",
                       help="do not ask the API again for recent gaps (docs/operations.md)")
        p.add_argument("--no-report", action="store_true",
                       help="do not write the data-quality report")
        _common(p)
    status.add_arguments(sub.add_parser("status", help=status.HELP))
    chart.add_arguments(sub.add_parser("chart", help=chart.HELP))
    sqlshell.add_arguments(sub.add_parser("sql", help=sqlshell.COMMAND_HELP))
    export.add_arguments(sub.add_parser("export", help=export.HELP))
    spark.add_commands(sub)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    s = Settings.from_env()
    for attr in ("lookback", "initial_history", "settle", "chunk", "page_size", "max_rps"):
        v = getattr(args, attr, None)
        if v is not None:
            setattr(s, attr, v)
    if getattr(args, "lake", None) is not None:
        s.lake = args.lake
    s.validate_tuning()
    return s


def _client(settings: Settings) -> FlightDeckClient:
    settings.require_api()
    return FlightDeckClient.from_settings(settings)


def cmd_sync(args: argparse.Namespace) -> int:
    from .landing.sync import sync
    settings = settings_from(args)
    _shard(args)
    settings.refuse_future(args.until, "--until")
    settings.require_writable_lake()
    with _client(settings) as client:
        summary = sync(settings, client, until=args.until, sites=args.site,
                       shard=_shard(args))
    print_summary(summary)
    return EXIT_OK if summary.ok else EXIT_FAILED


def cmd_backfill(args: argparse.Namespace) -> int:
    from .landing.backfill import backfill
    settings = settings_from(args)
    settings.refuse_future(args.end, "--end")
    settings.require_writable_lake()
    with _client(settings) as client:
        summary = backfill(settings, client, args.site, args.start, args.end,
                           restart=args.restart, progress=False if args.no_progress else None)
    print_summary(summary)
    return EXIT_OK if summary.ok else EXIT_FAILED


def cmd_import(args: argparse.Namespace) -> int:
    from .landing.importer import import_files
    settings = settings_from(args)
    settings.require_writable_lake()
    if args.site:
        _check_site(settings, args.site, "importing anyway")
    summary = import_files(settings.lake, args.files, site=args.site, timezone=args.timezone,
                           earliest=settings.import_earliest, ahead=settings.import_ahead)
    print_summary(summary)
    if any(not f.ok for f in summary.files):
        return EXIT_CONFIG  # a file that cannot be read is bad input; the others landed
    return EXIT_OK if summary.ok else EXIT_FAILED


def _check_site(settings: Settings, site: str, then: str) -> None:
    """Refuse a --site the API does not list; without a configured API, a warning."""
    from .landing.sitecheck import check_known_sites
    try:
        settings.require_api()
    except ConfigError as e:
        log.warning("--site %s not checked against the API's site list (%s); %s", site, e,
                    then)
        return
    with FlightDeckClient.from_settings(settings) as client:
        check_known_sites(client, [site], then=then)


def cmd_checkpoint(args: argparse.Namespace) -> int:
    from .landing.checkpoint import show_or_move
    from .landing.lake import Lake, check_site_name
    settings = settings_from(args)
    check_site_name(args.site)
    if args.set_to is not None:
        settings.require_writable_lake()
    _check_site(settings, args.site, "going on")
    print(show_or_move(Lake(settings.lake), args.site, args.set_to, settle=settings.settle))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from .standin.__main__ import main as standin_main
    return int(standin_main(args.args))


def cmd_report(args: argparse.Namespace) -> int:
    from .ops.report import main as report_main
    return report_main(args.args)


def cmd_publish(args: argparse.Namespace) -> int:
    from .landing.lake import new_run_id
    from .warehouse.publish import publish
    settings = Settings.from_env()
    wh = settings.warehouse.resolve()
    if not wh.exists():
        raise ConfigError(f"no warehouse at {wh}: build it first (make run)")
    p = publish(wh, new_run_id(datetime.now(UTC)), settings.published_dir, keep=args.keep)
    print(f"published {p.path} ({p.bytes / 1e6:.1f} MB)")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, demo: bool = False) -> int:
    from .ops.mainjob import main_job
    settings = settings_from(args)
    shard = _shard(args)
    settings.refuse_future(args.until, "--until")
    settings.require_writable_lake()
    return main_job(settings, until=args.until, skip_dbt=args.skip_dbt, demo=demo,
                    repair_gaps=not args.no_repair, report=not args.no_report,
                    sites=args.site, shard=shard)


def _shard(args: argparse.Namespace) -> Shard | None:
    """``--shard I/N`` checked (one line and exit 2 when it is not 1 <= I <= N)."""
    return Shard.parse(args.shard) if args.shard is not None else None


#: commands whose ``python -m extract`` process may skip the interpreter's teardown
#: (see ``extract/__main__.py``): they hold no open database file and start no process
QUICK_EXIT_COMMANDS = frozenset({"sync", "backfill", "import"})
_last_command: list[str] = []


def last_command() -> str | None:
    """The command :func:`main` ran last in this process (None before any)."""
    return _last_command[-1] if _last_command else None


def parse_args(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """As ``parser.parse_args``, but an unknown flag is reported by its subcommand's parser:
    the usage shown is that command's, not the top level's."""
    args, extra = parser.parse_known_args(argv)
    if extra:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        sub.choices[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["simulate"]:
        from .standin.__main__ import main as standin_main
        return int(standin_main(argv[1:]))  # the stand-in parses its own options
    if argv[:1] == ["report"]:
        from .ops.report import main as report_main
        return report_main(argv[1:])  # the report parses its own options
    args = parse_args(build_parser(), argv)
    logs.setup(getattr(args, "log_level", "info"), getattr(args, "log_format", "text"))
    _last_command[:] = [args.command]
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "sync": cmd_sync, "backfill": cmd_backfill, "import": cmd_import,
        "checkpoint": cmd_checkpoint, "simulate": cmd_simulate, "run": cmd_run,
        "sql": lambda a: sqlshell.run(a, Settings.paths_from_env().published_dir),
        "publish": cmd_publish, "prune-raw": lambda a: prune.run(a, settings_from(a)),
        "chart": lambda a: chart.run(a, Settings.paths_from_env().published_dir),
        "export": lambda a: export.run(a, Settings.paths_from_env().published_dir),
        "demo": lambda a: cmd_run(a, demo=True), "status": status.run, "report": cmd_report,
        **spark.handlers()}
    try:
        return handlers[args.command](args)
    except LockHeld as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_LOCKED
    except (ConfigError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_CONFIG
    except ExtractError as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted; nothing partial is visible, rerun to resume", file=sys.stderr)
        return 130
    except OSError as e:  # a disk full or a permission taken away mid-run: one line
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {type(e).__name__}: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_FAILED
