#!/usr/bin/env python3
"""Runs a named experiment table (tables.py) with the tinymim tool, resumably, and builds its table and figure.

    python3 scripts/experiments/driver.py run TABLE [--seeds 0,1,2] [--rows tinymim,mae] [--threads 2] [--device cuda]
    python3 scripts/experiments/driver.py report TABLE
    python3 scripts/experiments/driver.py compare TABLE --better ROW --worse [OTHER_TABLE:]ROW [--key test_accuracy]

`run` trains every (row, seed) whose result is missing: the row's pre-training (MAE, a distillation) and the
fine-tuning all rows share, in --work/TABLE/ROW/seedK with the tool's checkpoints (a stage cut short resumes
with --resume), then writes --results/TABLE/ROW/seedK.json: test accuracy and loss, the fine-tuning accuracy
per epoch, the pre-training loss curve, the commands, minutes, host and commit. A table with a `holdout` budget
passes --holdout N to every stage: fine-tuning then measures on those N training images (holdout_accuracy, and
the accuracy per epoch), and `eval` measures the test set once with the fine-tuned weights. A table can so be filled over
several sittings; the JSON files are the record, meant to be committed. `report` builds TABLE.md (mean ± sd
over seeds, and each row's paired difference from MAE from scratch, seed by seed) and TABLE.png (gnuplot:
fine-tuning accuracy per epoch with error bars, pre-training losses) from the JSON files alone. A table may
`borrow` a row from another table whose budget gives it the same commands (MAE from scratch, when only the teacher
differs): `run` skips it and `report` reads the other table's results. `compare` pairs two rows by seed, across
tables too (a variant of the recipe against the recipe), with the claims' difference, interval and verdict.
Several drivers may fill one table side by side: each (row, seed) folder is locked by the driver training in
it (the others skip it), and a table-wide stage by the driver running it (the others wait, then use it).
"""
import argparse
import contextlib
import csv
import fcntl
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tables import CLAIMS, TABLES, finetuning, rows, stages  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def write_json(path, value):
    """Whole or not at all: a temporary file renamed over the target."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(value, f, indent=1)
    os.replace(f.name, path)


def column(csv_path, name):
    """A column of one of the tool's CSV logs; name None: the first after images_per_s (the loss, whatever
    the task calls it)."""
    with open(csv_path) as f:
        rows_ = list(csv.reader(f))
    if not rows_:
        return []
    i = rows_[0].index(name) if name else rows_[0].index("images_per_s") + 1
    return [float(r[i]) for r in rows_[1:]]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def device_name(args):
    """The CPU, or with --device cuda the GPU nvidia-smi names."""
    if args.device != "cuda":
        return "cpu"
    r = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else "cuda"


def commit(args):
    """The commit the record names: --commit (the one the tool was built at), else the repository's HEAD."""
    if args.commit:
        return args.commit
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return r.stdout.strip()


def relative(command, tool_path):
    """A command as the record keeps it: the tool as `tinymim`, paths relative to the repository."""
    return command.replace(str(tool_path), "tinymim").replace(str(ROOT) + "/", "")


def lock(path, wait):
    """An exclusive lock on the file `path`, held while the returned file is open, so that two drivers never
    train in one folder: with wait, until the other lets go; without, None when another driver holds it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    f = open(path, "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        f.close()
        return None
    return f


def tool(args, cmd, name, out, seed, log, holdout=0):
    full = [args.tool] + [str(c) for c in cmd] + ["--out", str(out), "--seed", str(seed), "--device", args.device,
                                                   "--threads", str(args.threads), "--no-plots", "--resume"]
    if cmd[0] != "eval":  # eval trains nothing and names no outputs
        full += ["--name", name]
    if holdout:
        full += ["--holdout", str(holdout)]
    out.mkdir(parents=True, exist_ok=True)
    with open(out / f"{name}.log", "a") as f:
        f.write("$ " + " ".join(full) + "\n")
        f.flush()
        r = subprocess.run(full, stdout=subprocess.PIPE, stderr=f, text=True)
        f.write(r.stdout)
    if r.returncode != 0:
        sys.exit(f"driver: {name} in {out} failed (exit {r.returncode}); see {out / (name + '.log')}")
    log.append(relative(" ".join(full), args.tool))
    return r.stdout


def top1(stdout, prefix, row, seed):
    """Accuracy (%), loss and image count from the tool's result line that starts with prefix."""
    line = [l for l in stdout.splitlines() if l.startswith(prefix)]
    if not line:
        sys.exit(f"driver: {row} seed {seed}: no line '{prefix} ...' in the tool's output")
    l = line[-1]
    return (float(l.split("top-1 ")[1].split("%")[0]), float(l.split("loss ")[1].split(" ")[0]),
            int(l.split(" on ")[1].split(" ")[0]))


def run(args):
    b = TABLES[args.table]
    work, results = Path(args.work) / args.table, Path(args.results) / args.table
    stage_cmds, row_specs = stages(b), rows(b)
    chosen = args.rows.split(",") if args.rows else b["rows"]
    for r in chosen:
        if r not in b["rows"]:
            sys.exit(f"driver: table {args.table} has no row {r} (rows: {', '.join(b['rows'])})")
    seeds = [int(s) for s in args.seeds.split(",")]
    holdout = b.get("holdout", 0)  # training images held out of every stage; fine-tuning measures on them

    def resolve(cmd, log):  # "{key}": the weights of table-wide stage key, run first if it has not been
        return [stage(c[1:-1], log) if str(c).startswith("{") else c for c in cmd]

    def stage(key, log):  # a stage the rows have in common, run once per table (seed 0)
        out = work / "stages"
        weights = out / f"{key}.safetensors"
        with contextlib.closing(lock(out / f".{key}.lock", wait=True)):  # a second driver waits for the stage, then uses it
            if not (out / f"{key}.done").exists():
                cmd = resolve(stage_cmds[key], log)
                print(f"driver: {args.table}: table-wide stage {key}", flush=True)
                tool(args, cmd, key, out, 0, log, holdout)
                (out / f"{key}.done").write_text("")
            else:
                log.append(relative(f"(stage {key}, run once per table: {weights})", args.tool))
        return weights

    fin = finetuning(b)
    for r in chosen:
        if r in b.get("borrow", {}):
            print(f"driver: {args.table}: {r} is {b['borrow'][r]}'s row (the same commands): run it there", flush=True)
            continue
        spec = row_specs[r]
        for seed in seeds:
            res = results / r / f"seed{seed}.json"
            if res.exists():
                continue
            out, log, t0 = work / r / f"seed{seed}", [], time.time()
            claimed = lock(out / ".driver.lock", wait=False)
            if claimed is None:
                print(f"driver: {args.table}: {r}, seed {seed}: another driver is running it; skipped", flush=True)
                continue
            if res.exists():  # finished by another driver between the check and the lock
                claimed.close()
                continue
            print(f"driver: {args.table}: {r}, seed {seed}", flush=True)
            curve = []
            if spec["pre"] is None:
                weights = stage(spec["from"], log)
            else:
                cmd = resolve(spec["pre"], log)
                if not (out / "pre.done").exists():
                    tool(args, cmd, "pre", out, seed, log, holdout)
                    (out / "pre.done").write_text("")
                weights = out / "pre.safetensors"
                curve = column(out / "pre_metrics.csv", None)
            extra = resolve(spec.get("ft_extra", []), log)
            stdout = tool(args, ["finetune", "--model", spec["model"], "--weights", weights] + fin + extra, "ft", out,
                          seed, log, holdout)
            measured = "holdout" if holdout else "test"
            acc, loss, images = top1(stdout, "finetune: " + measured, r, seed)
            record = {"table": args.table, "row": r, "seed": seed,
                      "finetune_accuracy_per_epoch": [100 * a for a in
                                                      column(out / "ft_eval.csv", measured + "_accuracy")]}
            if holdout:  # the choices' number, then the test set once, with the fine-tuned weights
                record.update({"holdout_images": images, "holdout_accuracy": acc, "holdout_loss": loss})
                ev = tool(args, ["eval", "--model", spec["model"], "--weights", out / "ft.safetensors",
                                 "--test-limit", b["test_images"]], "eval", out, seed, log)
                acc, loss, images = top1(ev, "eval: top-1", r, seed)
            record.update({"test_accuracy": acc, "test_loss": loss, "test_images": images, "pretrain_loss": curve,
                           "commands": log,
                           "minutes": (time.time() - t0) / 60, "host": cpu_name(), "device": device_name(args), "threads": args.threads,
                           "commit": commit(args), "date": time.strftime("%Y-%m-%d")})
            write_json(res, record)
            claimed.close()
            held_note = f"held-out {record['holdout_accuracy']:.2f} %, " if holdout else ""
            print(f"driver: {r}, seed {seed}: {held_note}test {acc:.2f} %", flush=True)


def mean_sd(v):
    m = sum(v) / len(v)
    return m, (math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1)) if len(v) > 1 else float("nan"))


def fmt(m, sd):
    return f"{m:.2f}" if math.isnan(sd) else f"{m:.2f} ± {sd:.2f}"


# Two-sided 97.5 % quantiles of Student's t for 1..9 degrees of freedom (a 95 % interval).
T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262]


def claims(found, key):
    """The paper's claims the table can test: paired differences (same seed) of `key`, their mean ± sd, and the
    verdict of the 95 % t-interval of the mean: holds (all above 0), does not hold (all below), or inconclusive."""
    out = ["", f"| claim | seeds | paired difference (points, {key.replace('_', ' ')}) | 95 % interval | verdict |",
           "|---|---|---|---|---|"]
    for claim, better, worse in CLAIMS:
        if better not in found or worse not in found:
            continue
        line = paired_line(claim, found[better], found[worse], key)
        if line:
            out.append(line)
    return out if len(out) > 3 else []


def paired_line(claim, better, worse, key):
    """A table line: the paired differences (same seed) of `key` between two rows' runs ({seed: record}), their
    mean ± sd, 95 % t-interval and verdict; None with fewer than two pairs."""
    d = [better[s][key] - worse[s][key] for s in sorted(better) if s in worse]
    if len(d) < 2:
        return None
    m, sd = mean_sd(d)
    half = T975[min(len(d) - 1, len(T975)) - 1] * sd / math.sqrt(len(d))
    verdict = "holds" if m - half > 0 else "does not hold" if m + half < 0 else "inconclusive"
    return f"| {claim} | {len(d)} | {fmt(m, sd)} | [{m - half:+.2f}, {m + half:+.2f}] | {verdict} |"


def compare(args):
    """Two rows, each ROW of TABLE or OTHER_TABLE:ROW (another budget: a variant of the recipe), paired by seed:
    `--better` against `--worse` on --key (held-out accuracy where both tables hold images out, else test)."""
    def load(ref):
        table, row = ref.split(":") if ":" in ref else (args.table, ref)
        b = TABLES[table]
        found = {j["seed"]: j for j in (json.load(open(p)) for p in
                                        sorted((borrowed(argparse.Namespace(results=args.results, table=table), b, row)
                                                / row).glob("seed*.json")))}
        if not found:
            sys.exit(f"driver: no results for {row} of {table}")
        return f"{table}:{row}", b.get("holdout", 0), found
    (bn, bh, better), (wn, wh, worse) = load(args.better), load(args.worse)
    key = args.key or ("holdout_accuracy" if bh and wh else "test_accuracy")
    line = paired_line(f"{bn} > {wn}", better, worse, key) or sys.exit("driver: fewer than two seeds in common")
    print(f"| claim | seeds | paired difference (points, {key.replace('_', ' ')}) | 95 % interval | verdict |")
    print("|---|---|---|---|---|")
    print(line)


# Budget entries a row's commands depend on, the teachers' aside: a table may borrow another's row where they agree.
STUDENT_BUDGET = ["pre_images", "pre_epochs", "ft_images", "ft_epochs", "test_images", "holdout", "batch", "warmup"]


def borrowed(args, b, r):
    """Where row r's results are: this table's folder, or that of the table it borrows r from (`borrow`), whose
    budget must agree on everything r's commands depend on."""
    other = b.get("borrow", {}).get(r)
    if other is None:
        return Path(args.results) / args.table
    ob = TABLES[other]
    differ = [k for k in STUDENT_BUDGET if b.get(k) != ob.get(k)]
    if differ or row_specs_differ(b, ob, r):
        sys.exit(f"driver: {args.table} borrows {r} from {other}, but they differ in {', '.join(differ) or r}")
    return Path(args.results) / other


def row_specs_differ(b, ob, r):
    spec, other = rows(b)[r], rows(ob)[r]
    return spec["pre"] != other["pre"] or any("{" in str(c) for c in (spec["pre"] or [])) or spec.get("ft_extra")


# One colour per row, distinct for up to 12 rows (gnuplot's default cycle repeats after 8), and a mark of its own.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf", "#000000", "#aec7e8"]


def style(i):
    return f"lc rgb '{COLOURS[i % len(COLOURS)]}' pt {i % 13 + 1} lw 1.5"


def report(args):
    b = TABLES[args.table]
    results = Path(args.results) / args.table
    found = {}
    for r in b["rows"]:
        runs = [json.load(open(p)) for p in sorted((borrowed(args, b, r) / r).glob("seed*.json"))]
        if runs:
            found[r] = {j["seed"]: j for j in runs}
    if not found:
        sys.exit(f"driver: no results under {results}")
    base = found.get("mae", {})
    held = b.get("holdout", 0)  # then choices read the held-out column; the test column is reported, not tuned on
    lines = [("| row | seeds | held-out top-1 (%) | test top-1 (%) | − MAE from scratch, paired, held-out | "
              "− MAE from scratch, paired, test | test per seed |") if held else
             "| row | seeds | test top-1 (%) | − MAE from scratch, paired (points) | per seed |",
             "|---|---|---|---|---|---|---|" if held else "|---|---|---|---|---|"]

    def paired(r, runs, key):
        pairs = [runs[s][key] - base[s][key] for s in sorted(runs) if s in base]
        return fmt(*mean_sd(pairs)) if pairs and r != "mae" else "—"

    for r, runs in found.items():
        accs = [runs[s]["test_accuracy"] for s in sorted(runs)]
        cells = [r, str(len(accs))]
        if held:
            cells += [fmt(*mean_sd([runs[s]["holdout_accuracy"] for s in sorted(runs)])), fmt(*mean_sd(accs)),
                      paired(r, runs, "holdout_accuracy"), paired(r, runs, "test_accuracy")]
        else:
            cells += [fmt(*mean_sd(accs)), paired(r, runs, "test_accuracy")]
        lines.append("| " + " | ".join(cells + [", ".join(f"{a:.2f}" for a in accs)]) + " |")
    lines += claims(found, "holdout_accuracy" if held else "test_accuracy")
    for r, other in b.get("borrow", {}).items():
        lines += ["", f"Row {r}: the results of table {other} (the same commands, run once)."]

    def each(key, default=""):  # the values a key takes over the records, and the rows of each when they differ
        seen = {}
        for r, runs in found.items():
            for j in runs.values():
                seen.setdefault(str(j.get(key, default)), []).append(r)
        if len(seen) == 1:
            return next(iter(seen))
        return "; ".join(f"{v} ({', '.join(dict.fromkeys(rs))})" for v, rs in seen.items())

    devices = each("device", "cpu")
    runs_n = sum(len(runs) for runs in found.values())
    lines += ["", f"Budget: {json.dumps({k: v for k, v in b.items() if k not in ('rows', 'borrow')})}; host "
              f"{each('host')}{'' if devices == 'cpu' else ', device ' + devices}; threads {each('threads')}; "
              f"tool commit {each('commit')}; {runs_n} runs; mean ± sample standard deviation over seeds."]
    md = results.parent / f"{args.table}.md"
    md.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if shutil.which("gnuplot") is None:
        print("driver: no gnuplot, no figure")
        return
    with tempfile.TemporaryDirectory() as tmp:
        plots_acc, plots_loss = [], []
        for i, (r, runs) in enumerate(found.items()):  # style i: a row has one colour and mark in both panels
            per_epoch = [runs[s]["finetune_accuracy_per_epoch"] for s in runs]
            n = min(len(c) for c in per_epoch)
            with open(f"{tmp}/{r}_acc.dat", "w") as f:
                for e in range(n):
                    m, sd = mean_sd([c[e] for c in per_epoch])
                    f.write(f"{e + 1} {m} {0 if math.isnan(sd) else sd}\n")
            plots_acc.append(f"'{tmp}/{r}_acc.dat' using 1:2:3 with yerrorlines {style(i)} title '{r}'")
            curves = [runs[s]["pretrain_loss"] for s in runs if runs[s]["pretrain_loss"]]
            if curves:
                n = min(len(c) for c in curves)
                with open(f"{tmp}/{r}_loss.dat", "w") as f:
                    for j in range(n):
                        f.write(f"{j + 1} {sum(c[j] for c in curves) / len(curves)}\n")
                plots_loss.append(f"'{tmp}/{r}_loss.dat' using 1:2 with linespoints {style(i)} title '{r}'")
        png = results.parent / f"{args.table}.png"
        measured = "held-out" if held else "test"
        script = f"""set terminal pngcairo size 1400,520 font ',11' noenhanced
set output '{png}'
set multiplot layout 1,2
set title 'Fine-tuning: {measured} top-1 per epoch (mean ± sd over seeds)'
set xlabel 'epoch'; set ylabel '{measured} top-1 (%)'; set key bottom right; set xtics 1; set autoscale xfix; set offsets 0.15, 0.15, 0, 0
plot {', '.join(plots_acc)}
set title 'Pre-training loss (mean over seeds; MAE and distillation losses differ in scale)'
set xlabel 'logged step'; set ylabel 'loss'; set logscale y; set key outside right top; set xtics autofreq; set offsets 0, 0, 0, 0
plot {', '.join(plots_loss) if plots_loss else "NaN notitle"}
unset multiplot
"""
        subprocess.run(["gnuplot"], input=script, text=True, check=True)
        print(f"driver: wrote {md} and {png}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["run", "report", "compare"])
    p.add_argument("table", choices=sorted(TABLES))
    p.add_argument("--tool", default=str(ROOT / "build/examples/tinymim"))
    p.add_argument("--work", default=str(ROOT / "runs/experiments"))
    p.add_argument("--results", default=str(ROOT / "docs/results/experiments"))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--rows", default="")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="where the tool trains")
    p.add_argument("--commit", default="", help="the commit --tool was built at, for the records (default: HEAD)")
    p.add_argument("--better", default="", help="compare: ROW of TABLE or OTHER_TABLE:ROW")
    p.add_argument("--worse", default="", help="compare: ROW of TABLE or OTHER_TABLE:ROW")
    p.add_argument("--key", default="", help="compare: the record's number (default: held-out, else test accuracy)")
    args = p.parse_args()
    {"run": run, "report": report, "compare": compare}[args.action](args)


if __name__ == "__main__":
    main()
