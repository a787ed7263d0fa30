"""The defaults suite's cached per-cell results and their Markdown summary (used by
``defaults.py``): mean ± std per problem and contender, mean ranks, paired
wins / ties / losses."""

from __future__ import annotations

import pandas as pd
from defaults_problems import HOLDOUT, RESULTS


def _csv(name):
    return RESULTS / f"{name}.csv"


def load_cache(name) -> pd.DataFrame:
    path = _csv(name)
    return pd.read_csv(path) if path.exists() else pd.DataFrame()


def save_row(name, row):
    RESULTS.mkdir(parents=True, exist_ok=True)
    df = load_cache(name)
    if len(df):
        df = df[~((df["contender"] == row["contender"]) & (df["split"] == row["split"]))]
    df = pd.concat([df, pd.DataFrame([row])], ignore_index=True)
    df = df.sort_values(["contender", "split"]).reset_index(drop=True)
    df.to_csv(_csv(name), index=False, float_format="%.6g")


def _fmt(x):
    return "" if pd.isna(x) else f"{x:.3f}"


def table(problems, contenders, n_splits, candidates=()) -> str:
    rows, per_problem = [], {}
    for name in problems:
        df = load_cache(name)
        if not len(df):
            continue
        df = df[df["split"] < n_splits]
        p_main, higher = _main_of(df["kind"].iloc[0])
        cells, means = {}, {}
        for c in contenders:
            d = df[df["contender"] == c]
            if not len(d):
                continue
            ok = d[d["status"] == "ok"]
            if (d["status"] == "not_applicable").all():
                continue
            if len(ok) == n_splits:
                mu, sd = ok[p_main].mean(), ok[p_main].std(ddof=0)
                means[c] = mu
                extra = _secondary(ok)
                cells[c] = f"{mu:.3f} ± {sd:.3f}{extra} ({ok['fit_s'].mean():.1f} s)"
            else:
                st = ", ".join(sorted(set(d["status"]) - {"ok"})) or "incomplete"
                cells[c] = f"{st} ({len(ok)}/{n_splits})"
        ranks = pd.Series(means).rank(ascending=not higher) if means else pd.Series()
        per_problem[name] = (ranks, df)
        kind = df["kind"].iloc[0]
        tag = " (hold-out)" if name in HOLDOUT else ""
        rows.append(f"| {name}{tag} | {kind}, {p_main} {'↑' if higher else '↓'} | "
                    + " | ".join(cells.get(c, "") for c in contenders) + " |")
    head = ("| problem | kind, main metric | " + " | ".join(contenders) + " |\n|---|---|"
            + "---|" * len(contenders))
    out = [head, *rows, ""]
    # ranks are comparable only over one set of contenders: those that apply to every
    # problem, on the problems where all of them finished every split; the others
    # (mtridge: regression only) get their own line over the problems where they apply
    na = {c for _, (_, df) in per_problem.items() for c in
          df.loc[df["status"] == "not_applicable", "contender"]}
    everywhere = [c for c in contenders if c not in na]
    for label, keep in (("development", lambda n: n not in HOLDOUT),
                        ("hold-out", lambda n: n in HOLDOUT)):
        for extra in [None, *[c for c in contenders if c in na]]:
            group = everywhere + ([extra] if extra else [])
            ranks = []
            for n, (r, df) in per_problem.items():
                if keep(n) and all(c in r.index for c in group):
                    main, higher = _main_of(df["kind"].iloc[0])
                    ranks.append(_rank_among(df, group, main, higher, n_splits))
            if not ranks:
                continue
            R = pd.DataFrame(ranks)
            what = "every problem" if extra is None else f"the problems where {extra} applies"
            out.append(f"Mean rank, {label} problems, among {', '.join(group)} ({what}; "
                       f"1 = best; {len(R)} problems with every split done by all of them):\n")
            out.append("| contender | mean rank |\n|---|---:|")
            out.extend(f"| {c} | {R[c].mean():.2f} |" for c in group)
            out.append("")
    out.append(_paired(per_problem, n_splits))
    cands = [c for c in contenders if c in candidates]
    if cands:
        out.append(_paired_candidates(per_problem, n_splits, cands))
    return "\n".join(out)


def _rank_among(df, group, main, higher, n_splits):
    means = {c: df.loc[(df["contender"] == c) & (df["status"] == "ok"), main].mean()
             for c in group}
    return pd.Series(means).rank(ascending=not higher)


def _main_of(kind):
    return {"mtr": ("aRRMSE", False), "mlc": ("AUC", True), "long_reg": ("EV%", True),
            "long_clf": ("task AUC", True), "mixed": ("like RMSE", False)}[kind]


def _secondary(ok):
    for col, name in (("Hamming", "Hamming"), ("buy AUC", "buy AUC")):
        if col in ok and ok[col].notna().any():
            return f"; {name} {ok[col].mean():.3f}"
    return ""


def _paired(per_problem, n_splits) -> str:
    """net vs each other contender: paired over splits, beyond one std of the differences."""
    lines = ["Paired over splits, `net` against each contender (win / tie / loss: the mean "
             "paired difference beyond one standard deviation of the paired differences; "
             "problems where both have every split):\n",
             "| net vs | set | win | tie | loss | losses |", "|---|---|---:|---:|---:|---|"]
    for other in ("linear", "hgb", "net_indep", "mtridge", "realmlp", "tabm"):
        for label, keep in (("dev", lambda n: n not in HOLDOUT), ("hold-out",
                                                                   lambda n: n in HOLDOUT)):
            w = t = lo = 0
            losses = []
            for name, (_, df) in per_problem.items():
                if not keep(name):
                    continue
                main, higher = _main_of(df["kind"].iloc[0])
                a = df[(df["contender"] == "net") & (df["status"] == "ok")].set_index("split")
                b = df[(df["contender"] == other) & (df["status"] == "ok")].set_index("split")
                if len(a) < n_splits or len(b) < n_splits:
                    continue
                d = (a[main] - b[main]).to_numpy() * (1 if higher else -1)
                sd = d.std(ddof=1) if len(d) > 1 else 0.0
                if d.mean() > sd:
                    w += 1
                elif d.mean() < -sd:
                    lo += 1
                    losses.append(f"{name} ({d.mean():+.3f})")
                else:
                    t += 1
            if w + t + lo:
                lines.append(f"| {other} | {label} | {w} | {t} | {lo} | {', '.join(losses)} |")
    return "\n".join(lines) + "\n"


def _paired_candidates(per_problem, n_splits, cands) -> str:
    """Each candidate (and ``net``) minus ``linear``, paired over splits, per problem."""
    lines = ["Long-format candidates: paired difference against `linear` in the main metric "
             "(mean ± std over splits of candidate - linear; positive = better than linear; "
             "mean fit time):\n"]
    names = [n for n, (_, df) in per_problem.items()
             if (df["contender"].isin(cands) & (df["status"] == "ok")).any()]
    lines.append("| contender | " + " | ".join(
        f"{n}{' (hold-out)' if n in HOLDOUT else ''}" for n in names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for c in ["net", *cands]:
        cells = []
        for n in names:
            df = per_problem[n][1]
            main, higher = _main_of(df["kind"].iloc[0])
            a = df[(df["contender"] == c) & (df["status"] == "ok")].set_index("split")
            b = df[(df["contender"] == "linear") & (df["status"] == "ok")].set_index("split")
            if len(a) < n_splits or len(b) < n_splits:
                cells.append("")
                continue
            d = (a[main] - b[main]).to_numpy() * (1 if higher else -1)
            cells.append(f"{d.mean():+.3f} ± {d.std(ddof=0):.3f} ({a['fit_s'].mean():.1f} s)")
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
