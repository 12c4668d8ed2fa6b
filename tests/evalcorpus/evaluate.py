"""Score the detectors on the independent evaluation corpus.

Generates the corpus (tests/evalcorpus/generate.py), runs it through the
public command line only — ``dlp-gateway scan --reveal`` with a sender at
lancaster.example and an external recipient, so the lancaster-lce profile
blocks whatever it finds sensitive — and matches each finding to the labels by
(entity, digits of the value, segment).

    python -m tests.evalcorpus.evaluate [--json REPORT.json] [--keep DIR] [--count N]

Importable: :func:`evaluate` returns the figures as a dict (the same dict the
JSON report holds). Reports name messages, entities and segments and show
values masked to their last four characters, never in full.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.evalcorpus import generate as G
from tests.evalcorpus import values as V

ROOT = Path(__file__).resolve().parents[2]
SENDER = "clerk@lancaster.example"
RECIPIENT = "partner@outside-firm.example.com"
KINDS = ("subject", "body", "html-table", "csv", "xlsx", "docx", "pdf", "zip-member", "attached-message")
DETAIL_LIMIT = 300
DETAIL_PER_KIND = 40

Key = tuple[str, str, str]  # entity, normalized value, segment


def norm(entity: str, value: str) -> str:
    """The part of a value that identifies it: its digits (a licence keeps its letter).

    >>> norm("PHONE_NUMBER", "+1 (661) 723-4417")
    '6617234417'
    >>> norm("US_DRIVER_LICENSE", "b1234567")
    'B1234567'
    """
    if entity == "US_DRIVER_LICENSE":
        return "".join(c for c in value.upper() if c.isalnum())
    d = V.digits(value)
    if entity == "PHONE_NUMBER" and len(d) == 11 and d.startswith("1"):
        d = d[1:]
    return d


def masked(value: str) -> str:
    """Last four characters only.

    >>> masked("527-41-8830")
    '*******8830'
    """
    flat = "".join(value.split())
    return "*" * max(len(flat) - 4, 0) + flat[-4:]


def run_scan(corpus: Path, config: Path | None = None) -> dict[str, dict[str, Any]]:
    """``dlp-gateway scan`` over the corpus directory: message file name -> its JSON line."""
    cmd = [sys.executable, "-m", "gateway.cli", "scan", str(corpus), "--reveal",
           "--sender", SENDER, "--recipient", RECIPIENT]
    if config is not None:
        cmd += ["--config", str(config)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"dlp-gateway scan failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    out: dict[str, dict[str, Any]] = {}
    for line in proc.stdout.splitlines():
        if line.strip():
            rec = json.loads(line)
            out[Path(rec["file"]).name] = rec
    return out


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def _contains(dg: str, pool: Mapping[str, object], joined: str) -> str | None:
    """The key of ``pool`` that equals ``dg``, holds it (7+ digits) or is held in it (7+ digits)."""
    if not dg:
        return None
    if dg in pool:
        return dg
    if len(dg) >= 7 and dg in joined:
        return next(k for k in pool if dg in k)
    for i in range(len(dg)):
        for j in range(i + 7, len(dg) + 1):
            if dg[i:j] in pool:
                return dg[i:j]
    return None


def score(cases: Sequence[Mapping[str, Any]], scans: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Compare labels (``Case.meta()`` dicts) with scan results; return the figures."""
    labels: dict[Key, tuple[str, str, str]] = {}  # key -> (case, kind, value)
    found: dict[Key, tuple[str, str]] = {}  # key -> (case, value)
    by_value: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (case, seg, digits) -> entities found
    negatives: dict[tuple[str, str, str, str], str] = {}  # (case, seg, digits, what) -> value
    grey_pool: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)  # (case, seg) -> digits -> what
    grey_total: Counter[str] = Counter()
    grey_hits: Counter[str] = Counter()
    grey_as: Counter[str] = Counter()
    per_case_found: dict[str, list[Key]] = defaultdict(list)
    for c in cases:
        for g in c.get("grey", ()):
            grey_total[g["what"]] += 1
            grey_pool[(c["name"], g["segment"])].setdefault(V.digits(g["value"]), g["what"])
    grey_joined = {k: "|".join(v) for k, v in grey_pool.items()}
    grey_reported: set[tuple[str, str, str]] = set()
    for c in cases:
        name = c["name"]
        for lab in c["labels"]:
            k = (lab["entity"], norm(lab["entity"], lab["value"]), f"{name}|{lab['segment']}")
            labels.setdefault(k, (name, lab["kind"], lab["value"]))
        for n in c["negatives"]:
            negatives.setdefault((name, n["segment"], V.digits(n["value"]), n["what"]), n["value"])
        rec = scans.get(name)
        if rec is None:
            raise RuntimeError(f"no scan result for {name}")
        for f in rec["findings"]:
            value = f.get("value")
            if value is None:
                raise RuntimeError("scan output has no values: run it with --reveal")
            k = (f["entity"], norm(f["entity"], value), f"{name}|{f['segment']}")
            gpool = grey_pool.get((name, f["segment"]), {})
            gkey = _contains(V.digits(value), gpool, grey_joined[(name, f["segment"])]) if gpool else None
            if gkey is not None and k not in labels:
                # a finding on a grey value is neither right nor wrong: left out of the scores
                if (name, f["segment"], gkey) not in grey_reported:
                    grey_reported.add((name, f["segment"], gkey))
                    grey_hits[gpool[gkey]] += 1
                grey_as[f["entity"]] += 1
                continue
            found.setdefault(k, (name, value))
            per_case_found[name].append(k)
            by_value[(name, f["segment"], V.digits(value))].add(f["entity"])

    entities = sorted({k[0] for k in labels} | {k[0] for k in found})
    per_entity: dict[str, dict[str, Any]] = {}
    for e in entities:
        lab = {k for k in labels if k[0] == e}
        fnd = {k for k in found if k[0] == e}
        tp = len(lab & fnd)
        per_entity[e] = {"labels": len(lab), "findings": len(fnd), "tp": tp, "fp": len(fnd - lab),
                         "fn": len(lab - fnd), "precision": _ratio(tp, len(fnd)), "recall": _ratio(tp, len(lab))}

    def pooled(group: Iterable[str]) -> dict[str, Any]:
        g = set(group)
        tp = sum(per_entity[e]["tp"] for e in per_entity if e in g)
        nf = sum(per_entity[e]["findings"] for e in per_entity if e in g)
        nl = sum(per_entity[e]["labels"] for e in per_entity if e in g)
        return {"labels": nl, "findings": nf, "tp": tp, "precision": _ratio(tp, nf), "recall": _ratio(tp, nl)}

    # recall per segment kind: the six core entities (as before), the new ones, all, and per entity
    kind_tot: Counter[str] = Counter()
    kind_hit: Counter[str] = Counter()
    kind_tot_later: Counter[str] = Counter()
    kind_hit_later: Counter[str] = Counter()
    kind_tot_e: dict[str, Counter[str]] = defaultdict(Counter)
    kind_hit_e: dict[str, Counter[str]] = defaultdict(Counter)
    scen_tot: Counter[str] = Counter()
    scen_hit: Counter[str] = Counter()
    scen_tot_all: Counter[str] = Counter()
    scen_hit_all: Counter[str] = Counter()
    confusion: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[dict[str, str | None]] = []
    misses_new: list[dict[str, str | None]] = []
    miss_count: Counter[tuple[bool, str]] = Counter()
    case_scenario = {c["name"]: c["scenario"] for c in cases}
    for k, (name, kind, value) in labels.items():
        e = k[0]
        hit = k in found
        if e in V.SENSITIVE:
            kind_tot_e[e][kind] += 1
            kind_hit_e[e][kind] += hit
            scen_tot_all[case_scenario[name]] += 1
            scen_hit_all[case_scenario[name]] += hit
        if e in V.SENSITIVE_CORE:
            kind_tot[kind] += 1
            kind_hit[kind] += hit
            scen_tot[case_scenario[name]] += 1
            scen_hit[case_scenario[name]] += hit
        elif e in V.SENSITIVE_NEW:
            kind_tot_later[kind] += 1
            kind_hit_later[kind] += hit
        if not hit:
            seg = k[2].split("|", 1)[1]
            other = sorted(by_value.get((name, seg, V.digits(value)), set()) - {e})
            confusion[e][other[0] if other else "(missed)"] += 1
            new = e in V.SENSITIVE_NEW
            if (e in V.SENSITIVE_CORE or new) and miss_count[(new, kind)] < DETAIL_PER_KIND:
                miss_count[(new, kind)] += 1
                (misses_new if new else misses).append(
                    {"message": name, "entity": e, "segment": seg, "kind": kind,
                     "value": masked(value), "reported_as": ",".join(other) or None})

    # false positives: what they were
    neg_pool: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for (name, seg, dg, what) in negatives:
        if dg:
            neg_pool[(name, seg)].setdefault(dg, what)
    neg_joined = {k: "|".join(v) for k, v in neg_pool.items()}
    label_values: dict[tuple[str, str, str], str] = {}
    for k, (name, _kind, value) in labels.items():
        label_values[(name, k[2].split("|", 1)[1], V.digits(value))] = k[0]
    fp_kinds: dict[str, Counter[str]] = defaultdict(Counter)
    false_pos: list[dict[str, str | None]] = []
    for k, (name, value) in found.items():
        if k in labels:
            continue
        seg = k[2].split("|", 1)[1]
        dg = V.digits(value)
        why: str
        if (name, seg, dg) in label_values:
            why = f"labelled {label_values[(name, seg, dg)]}"
        else:
            pool = neg_pool.get((name, seg), {})
            neg_key = _contains(dg, pool, neg_joined.get((name, seg), ""))
            why = f"hard negative: {pool[neg_key]}" if neg_key else "unlabelled text"
        fp_kinds[k[0]][why] += 1
        if len(false_pos) < DETAIL_LIMIT and k[0] in V.SENSITIVE:
            false_pos.append({"message": name, "entity": k[0], "segment": seg, "value": masked(value), "why": why})

    # hard negatives reported as a sensitive entity: the same digits, or one inside the other
    sens_found: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for (e, _n, cs), (name, value) in found.items():
        if e in V.SENSITIVE:
            sens_found[(name, cs.split("|", 1)[1])][V.digits(value)] = e
    joined = {k: "|".join(v) for k, v in sens_found.items()}
    neg_hits: Counter[str] = Counter()
    neg_total: Counter[str] = Counter()
    neg_detail: list[dict[str, str]] = []
    for (name, seg, dg, what), value in negatives.items():
        neg_total[what] += 1
        fpool = sens_found.get((name, seg))
        if fpool and _contains(dg, fpool, joined[(name, seg)]):
            neg_hits[what] += 1
            if len(neg_detail) < DETAIL_LIMIT:
                neg_detail.append({"message": name, "segment": seg, "what": what, "value": masked(value)})

    # verdicts
    leaks: list[dict[str, Any]] = []
    leaks_later: list[dict[str, Any]] = []
    leaks_all: list[dict[str, Any]] = []
    false_blocks: list[dict[str, Any]] = []
    grey_blocks: list[dict[str, Any]] = []
    actions: Counter[str] = Counter()
    for c in cases:
        verdict = scans[c["name"]]["verdict"]
        actions[verdict["action"]] += 1
        delivered = verdict["action"] in ("deliver", "disclaimer")
        leak = {"message": c["name"], "scenario": c["scenario"],
                "entities": dict(Counter(lab["entity"] for lab in c["labels"] if lab["entity"] in V.SENSITIVE))}
        if c["sensitive"] and delivered:
            leaks_all.append(leak)
        if c["sensitive_core"] and delivered:
            leaks.append(leak)
        elif c["sensitive"] and delivered:
            leaks_later.append({"message": c["name"], "scenario": c["scenario"]})
        if not c["sensitive"] and not delivered:
            (grey_blocks if c.get("grey") else false_blocks).append(
                {"message": c["name"], "scenario": c["scenario"], "reasons": verdict.get("reasons")})

    by_kind_new = {k: {"labels": kind_tot_later[k], "recall": _ratio(kind_hit_later[k], kind_tot_later[k])}
                   for k in KINDS if kind_tot_later[k]}
    n_sensitive_all = sum(1 for c in cases if c["sensitive"])
    return {
        "entity_groups": {"core": list(V.SENSITIVE_CORE), "new": list(V.SENSITIVE_NEW),
                          "all_sensitive": list(V.SENSITIVE)},
        "messages": len(cases),
        # "sensitive_messages", "all_sensitive", "recall_by_kind", "recall_by_scenario", "misses",
        # "sensitive_delivered" keep the meaning they had before issue 16: the six core entities.
        "sensitive_messages": sum(1 for c in cases if c["sensitive_core"]),
        "sensitive_messages_incl_later": n_sensitive_all,
        "sensitive_messages_incl_new": n_sensitive_all,
        "clean_messages": sum(1 for c in cases if not c["sensitive"]),
        "grey_only_messages": sum(1 for c in cases if not c["sensitive"] and c.get("grey")),
        "per_entity": per_entity,
        "all_sensitive": pooled(V.SENSITIVE_CORE),
        "core_entities": pooled(V.SENSITIVE_CORE),
        "new_entities": pooled(V.SENSITIVE_NEW),
        "later_entities": pooled(V.SENSITIVE_NEW),
        "all_sensitive_incl_new": pooled(V.SENSITIVE),
        "recall_by_kind": {k: {"labels": kind_tot[k], "recall": _ratio(kind_hit[k], kind_tot[k])}
                           for k in KINDS if kind_tot[k]},
        "recall_by_kind_new_entities": by_kind_new,
        "recall_by_kind_later_entities": by_kind_new,
        "recall_by_kind_incl_new": {
            k: {"labels": sum(kind_tot_e[e][k] for e in kind_tot_e),
                "recall": _ratio(sum(kind_hit_e[e][k] for e in kind_tot_e), sum(kind_tot_e[e][k] for e in kind_tot_e))}
            for k in KINDS if any(kind_tot_e[e][k] for e in kind_tot_e)},
        "recall_by_kind_per_entity": {
            e: {k: {"labels": kind_tot_e[e][k], "recall": _ratio(kind_hit_e[e][k], kind_tot_e[e][k])}
                for k in KINDS if kind_tot_e[e][k]}
            for e in V.SENSITIVE if e in kind_tot_e},
        "recall_by_scenario": {s: {"labels": scen_tot[s], "recall": _ratio(scen_hit[s], scen_tot[s])}
                               for s in sorted(scen_tot)},
        "recall_by_scenario_incl_new": {s: {"labels": scen_tot_all[s], "recall": _ratio(scen_hit_all[s], scen_tot_all[s])}
                                        for s in sorted(scen_tot_all)},
        "confusion": {e: dict(c) for e, c in sorted(confusion.items())},
        "false_positive_causes": {e: dict(c) for e, c in sorted(fp_kinds.items())},
        "hard_negatives": {"total": sum(neg_total.values()), "reported_as_sensitive": sum(neg_hits.values()),
                           "by_kind": {w: {"total": neg_total[w], "reported": neg_hits[w]} for w in sorted(neg_total)},
                           "detail": neg_detail},
        "grey_zone": {"total": sum(grey_total.values()), "reported": sum(grey_hits.values()),
                      "by_kind": {w: {"total": grey_total[w], "reported": grey_hits[w]} for w in sorted(grey_total)},
                      "findings_ignored_by_entity": dict(grey_as)},
        "verdicts": dict(actions),
        "sensitive_delivered": len(leaks),
        "sensitive_delivered_detail": leaks,
        "later_only_sensitive_delivered": len(leaks_later),
        "new_only_sensitive_delivered": len(leaks_later),
        "sensitive_delivered_incl_new": len(leaks_all),
        "sensitive_delivered_incl_new_detail": leaks_all[:DETAIL_LIMIT],
        "clean_not_delivered": len(false_blocks),
        "clean_not_delivered_detail": false_blocks[:DETAIL_LIMIT],
        "grey_only_not_delivered": len(grey_blocks),
        "grey_only_not_delivered_detail": grey_blocks[:DETAIL_LIMIT],
        "misses": misses,
        "misses_new_entities": misses_new,
        "false_positives": false_pos,
    }


def before_issue_16(cases: Sequence[Mapping[str, Any]], scans: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The core figures on the messages the corpus had before issue 16 (comparable with older reports)."""
    new = {name for name, _, _ in G.SCENARIOS_16}
    sub = score([c for c in cases if c["scenario"] not in new], scans)
    return {k: sub[k] for k in ("messages", "sensitive_messages", "clean_messages", "per_entity", "all_sensitive",
                                "recall_by_kind", "sensitive_delivered", "clean_not_delivered")}


def evaluate(seed: int = G.SEED, count: int | None = None, keep: Path | None = None,
             config: Path | None = None) -> dict[str, Any]:
    """Generate, scan and score the corpus; the figures as a dict."""
    t0 = time.perf_counter()
    cases = G.generate(seed, count)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="evalcorpus-") as tmp:
        outdir = keep or Path(tmp)
        G.write(cases, outdir)
        scans = run_scan(outdir, config)
    t2 = time.perf_counter()
    metas = [c.meta() for c in cases]
    report = score(metas, scans)
    report["before_issue_16"] = before_issue_16(metas, scans)
    report["seed"] = seed
    report["seconds"] = {"generate": round(t1 - t0, 2), "scan": round(t2 - t1, 2),
                         "score": round(time.perf_counter() - t2, 2)}
    return report


def _fmt(x: float | None) -> str:
    return "   -  " if x is None else f"{x:6.3f}"


def _row(name: str, m: Mapping[str, Any], note: str = "") -> str:
    return f"{name:<24}{m['labels']:>8}{m['findings']:>8}{_fmt(m['precision']):>11}{_fmt(m['recall']):>9}{note}"


def table(r: Mapping[str, Any]) -> str:
    pe = r["per_entity"]
    head = f"{'entity':<24}{'labels':>8}{'found':>8}{'precision':>11}{'recall':>9}"
    intro = (f"independent corpus: {r['messages']} messages, {r['sensitive_messages']} with sensitive data of the "
             f"six core entities ({r['sensitive_messages_incl_later']} counting driver's licences and bank accounts), "
             f"{r['clean_messages']} without")
    lines = [intro, "", "six core entities, whole corpus (the keys as before issue 16)", head]
    for e in (*V.SENSITIVE_CORE, "PHONE_NUMBER"):
        if e in pe:
            lines.append(_row(e, pe[e]))
    lines.append(_row("all sensitive (6 core)", r["all_sensitive"]))
    b16 = r.get("before_issue_16")
    if b16:
        lines += ["", f"core entities on the {b16['messages']} messages of before issue 16 (comparable with older runs)",
                  head]
        for e in (*V.SENSITIVE_CORE, "PHONE_NUMBER"):
            if e in b16["per_entity"]:
                lines.append(_row(e, b16["per_entity"][e]))
        lines.append(_row("all sensitive (6 core)", b16["all_sensitive"]))
    lines += ["", "issue 16 entities (sensitive; also in the pool of eight)", head]
    for e in V.SENSITIVE_NEW:
        if e in pe:
            lines.append(_row(e, pe[e]))
    if "new_entities" in r:
        lines.append(_row("new entities pooled", r["new_entities"]))
        lines.append(_row("all sensitive (8)", r["all_sensitive_incl_new"]))
    else:  # a report from before issue 16
        lines.append(_row("new entities pooled", r["later_entities"]))
    for e in sorted(set(pe) - set(V.ENTITIES)):
        lines.append(_row(e, pe[e], "   (not in the corpus's labels)"))
    per_e = r.get("recall_by_kind_per_entity", {})
    cols = [("core (6)", r["recall_by_kind"])]
    cols += [(e.replace("US_", "").replace("DRIVER_LICENSE", "DL").replace("BANK_ACCOUNT", "BANK_ACCT"), per_e[e])
             for e in V.SENSITIVE_NEW if e in per_e]
    if "recall_by_kind_incl_new" in r:
        cols.append(("all (8)", r["recall_by_kind_incl_new"]))
    lines += ["", "recall by segment kind (labels / recall):",
              f"  {'':<18}" + "".join(f"{c:>19}" for c, _ in cols)]
    for k in KINDS:
        cells = [f"{v[k]['labels']:>10} {_fmt(v[k]['recall'])}" + "  " if k in v else f"{'-':>19}" for _, v in cols]
        if any(k in v for _, v in cols):
            lines.append(f"  {k:<18}" + "".join(f"{c:>19}" for c in cells))
    if r["confusion"]:
        lines += ["", "labelled entity -> reported as (misses):"]
        for e, c in r["confusion"].items():
            lines.append(f"  {e:<18} " + ", ".join(f"{k}={v}" for k, v in sorted(c.items(), key=lambda x: -x[1])))
    hn = r["hard_negatives"]
    lines += ["", f"hard negatives reported as sensitive: {hn['reported_as_sensitive']} of {hn['total']}"]
    lines += [f"  {w}: {v['reported']}/{v['total']}" for w, v in hn["by_kind"].items() if v["reported"]]
    if "grey_zone" in r:
        g = r["grey_zone"]
        lines.append(f"grey-zone values (not scored) reported: {g['reported']} of {g['total']}"
                     + (f"  {g['findings_ignored_by_entity']}" if g["findings_ignored_by_entity"] else ""))
    lines.append(f"sensitive messages given the verdict of clean mail (delivered), core entities: "
                 f"{r['sensitive_delivered']} of {r['sensitive_messages']}")
    if "sensitive_delivered_incl_new" in r:
        lines.append(f"sensitive messages delivered, any of the eight: {r['sensitive_delivered_incl_new']} "
                     f"of {r['sensitive_messages_incl_new']}")
    lines += [f"  ... with only driver's licence/bank-account data: {r['later_only_sensitive_delivered']}",
              f"clean messages not delivered: {r['clean_not_delivered']} of {r['clean_messages']}"
              + (f" (and {r['grey_only_not_delivered']} of {r['grey_only_messages']} with only grey-zone values)"
                 if "grey_only_messages" in r else ""),
              f"verdicts: {r['verdicts']}"]
    if "seconds" in r:
        lines.append(f"time: {r['seconds']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=G.SEED)
    ap.add_argument("--count", type=int, default=None, help="only the first N messages")
    ap.add_argument("--keep", type=Path, default=None, help="write the corpus here and keep it")
    ap.add_argument("--config", type=Path, default=None, help="gateway configuration directory for scan")
    ap.add_argument("--json", type=Path, default=None, help="write the full report here")
    args = ap.parse_args(argv)
    report = evaluate(args.seed, args.count, args.keep, args.config)
    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"report: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
