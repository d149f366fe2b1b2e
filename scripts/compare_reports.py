"""Side by side: the scorecards of several ``chaosgan score`` report folders as one Markdown
table (generated vs real for each folder, and the first folder's real-vs-real floor).

    python scripts/compare_reports.py results/full/study results/full/best
    python scripts/compare_reports.py --names study,best results/full/study results/full/best
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def cell(key: str, value) -> str:
    if value is None:
        return "-"  # an older report without this metric
    if key == "one_step_error":
        return f"{value['median']:.3f} (p99 {value['p99']:.2f})"
    if key == "lyapunov_ratio":
        return ", ".join(f"{v['value']:.2f}" for v in value.values())
    if isinstance(value, list):
        return ", ".join(f"{v:.3f}" for v in value)
    return f"{value:.3g}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("reports", nargs="+", help="report folders (holding report.json)")
    ap.add_argument("--names", help="comma-separated column names (default: folder paths)")
    args = ap.parse_args()
    names = args.names.split(",") if args.names else args.reports
    if len(names) != len(args.reports):
        sys.exit("error: give one name per report folder")
    metrics = []
    for folder in args.reports:
        path = Path(folder) / "report.json"
        if not path.is_file():
            sys.exit(f"error: {path}: no such report")
        report = json.loads(path.read_text())
        if "metrics" not in report:
            sys.exit(f"error: {path}: a report without a scorecard (--no-metrics)")
        metrics.append(report["metrics"])
    print("| metric | floor (real vs real) | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * (len(names) + 1))
    for key in metrics[0]:
        row = [cell(key, metrics[0][key]["floor"])] + [
            cell(key, m[key]["generated"] if key in m else None) for m in metrics
        ]
        print(f"| {key} | " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
