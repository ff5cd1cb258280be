"""The bench's table: per scenario and metric, each MTA's median (min-max)
over the repetitions, and the ratio kurir / Postfix of the medians with, in
brackets, the lowest and highest ratio of one repetition's pair (kurir and
Postfix run back to back, A B then B A): the spread a reader needs before
believing a change of the ratio."""
import statistics

METRICS = ("delivered/s", "accepted/s", "drained/s", "cpu s/1000", "peak PSS MB", "qmgr peak PSS MB",
           "qmgr bytes/msg", "KB/session", "greeted", "through")


def ratio(a, b):
    return a / b if b else float("nan")


def metrics_of(runs):
    """The table's metrics present in any of runs (a daemon may have no
    system calls of its own in one MTA), syscall counts and CPU per daemon
    (--syscalls) last."""
    present = {m for r in runs for m in r}
    names = [m for m in METRICS if m in present]
    return names + sorted((m for m in present if m.startswith(("syscalls/msg", "cpu us/msg"))),
                          key=lambda m: (m.startswith("cpu"), not m.endswith(" total"), m))


def rows(name, kurir, postfix):
    out = []
    for metric in metrics_of(kurir + postfix):
        kv, pv = [r.get(metric, 0.0) for r in kurir], [r.get(metric, 0.0) for r in postfix]
        if not any(kv) and not any(pv):
            continue
        km, pm = statistics.median(kv), statistics.median(pv)
        pairs = [ratio(k, p) for k, p in zip(kv, pv) if p]
        spread = f" ({min(pairs):.2f}-{max(pairs):.2f})" if len(pairs) > 1 else ""
        out.append(f"| {name} | {metric} | {km:.1f} ({min(kv):.1f}-{max(kv):.1f}) | "
                   f"{pm:.1f} ({min(pv):.1f}-{max(pv):.1f}) | {ratio(km, pm):.2f}{spread} |")
    return out


def table(header, scenarios, results):
    lines = [header, "| scenario | metric | kurir | Postfix | ratio |", "|---|---|---|---|---|"]
    for name in scenarios:
        lines += rows(name, results[(name, "kurir")], results[(name, "postfix")])
    return "\n".join(lines) + "\n"
