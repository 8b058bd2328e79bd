"""results.json -> results.png: median req/s per scenario and server (bars,
with the min-max of the rounds as whiskers) and median p99 latency.

    python chart.py results.json results.png     (run.py calls it with the
                                                 venv's Python: matplotlib)
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {
    "fd-default": "#1f77b4", "fd-inline": "#0b3d91", "fd-uvicorn": "#6baed6",
    "fd-gunicorn": "#9ecae1", "apache": "#d62728", "uvicorn-raw": "#2ca02c",
    "granian-wsgi": "#ff7f0e", "ceiling": "#7f7f7f",
}


def main(src, dst):
    result = json.load(open(src))
    summary = result["summary"]
    scenarios = [s["name"] for s in result["scenarios"]
                 if any(r["scenario"] == s["name"] for r in summary)]
    servers = [s["name"] for s in result["servers"]
               if any(r["server"] == s["name"] for r in summary)]
    rows = {(r["scenario"], r["server"]): r for r in summary}
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(14, 9), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 2]})
    width = 0.85 / max(1, len(servers))
    for i, srv in enumerate(servers):
        xs, ys, lo, hi, p99 = [], [], [], [], []
        for j, scen in enumerate(scenarios):
            r = rows.get((scen, srv))
            if not r:
                continue
            x = j - 0.425 + width * (i + 0.5)
            xs.append(x)
            ys.append(r["rps"] / 1000)
            lo.append((r["rps"] - r["rps_min"]) / 1000)
            hi.append((r["rps_max"] - r["rps"]) / 1000)
            p99.append(r["p99_ms"])
        color = COLORS.get(srv, None)
        ax1.bar(xs, ys, width, yerr=[lo, hi], capsize=2, label=srv, color=color)
        for x, y in zip(xs, ys):
            ax1.text(x, y, "%.0f" % y, ha="center", va="bottom", fontsize=6, rotation=90)
        ax2.bar(xs, p99, width, color=color)
    meta = result["meta"]
    ax1.set_ylabel("thousand requests / s (median)")
    ax1.set_title("fastdispatch vs Apache 2.4 + mod_python 3.5 and Python servers -- "
                  "server on 1 core, wrk -t1 -c%d on the other; %d round(s) x %d s, %s"
                  % (meta["connections"], meta["rounds"], meta["duration_s"], meta["date"]),
                  fontsize=10)
    ax1.legend(ncol=4, fontsize=8)
    ax1.grid(axis="y", alpha=0.3)
    ax2.set_yscale("log")
    ax2.set_ylabel("p99 latency, ms (median, log)")
    ax2.grid(axis="y", alpha=0.3)
    ax2.set_xticks(range(len(scenarios)))
    ax2.set_xticklabels(scenarios)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
