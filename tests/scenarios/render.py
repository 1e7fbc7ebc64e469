"""docs/scenarios.md: the scenario table as a Danish page a caseworker can review.

Run `make scenarios-doc` (or `.venv/bin/python scripts/scenarios_md.py`) after editing
`tests/scenarios/*.yml`; a test fails when the page is out of date. The labels are our own
(not the bot's copy), so a wording change in the bot does not change the review page.
"""

from __future__ import annotations

import sys
from typing import Sequence

from bot.municipality import profiles
from tests.scenarios import runner
from tests.scenarios.runner import Case

ROUTE_TITLES = {
    "maintenance_training": "Vedligeholdende træning",
    "free_physiotherapy": "Vederlagsfri fysioterapi",
    "rehabilitation": "Genoptræning",
    "home_training": "Hjemmetræning",
    "none": "Intet af de fire tilbud",
}
TOPIC_TITLES = {
    None: "",
    "maintenance_training": "vedligeholdende træning",
    "free_physiotherapy": "vederlagsfri fysioterapi",
    "rehabilitation": "genoptræning",
    "home_training": "hjemmetræning",
}
MUNICIPALITY_NAMES = {**{m: p.short_name for m, p in profiles().items()}, "other": "anden kommune"}
FACT_LABELS = {
    "who": "Spørger",
    "age": "Alder",
    "municipality": "Kommune",
    "hospital_stay": "Indlagt/behandlet på sygehus for nylig",
    "rehab_plan": "Genoptræningsplan fra sygehuset",
    "hospital_plan_conflict": "Modstrid sygehus/plan afklaret",
    "goal": "Mål med træningen",
    "can_improve": "Kan blive bedre af træning",
    "regain_alone": "Kan genoptræne sig selv",
    "motivated": "Motiveret",
    "already_free_physio": "Får allerede vederlagsfri fysioterapi",
    "diagnosis_type": "Diagnose (borgerens beskrivelse)",
    "doctor_referral": "Henvisning fra læge",
    "can_train_alone": "Kan selv træne / bruge almindelige tilbud",
    "risk_of_loss": "Risiko for at miste flere færdigheder",
    "needs_therapist": "Behov for terapeutstøtte",
    "child_disability": "Barnet har en funktionsnedsættelse",
    "special_training_need": "Særligt træningsbehov ud over hverdagen",
    "school_trains": "Dagtilbud/skole træner allerede",
    "school_covers_need": "Skolens træning dækker behovet",
    "significant_permanent": "Betydelig og varig funktionsnedsættelse",
    "special_day_offer": "I målgruppen for særligt dagtilbud",
    "parents_can_train": "Forældrene kan planlægge og udføre træningen",
}
VALUE_LABELS = {
    "yes": "ja",
    "no": "nej",
    "dont_know": "**ved ikke**",
    "self": "borgeren selv",
    "parent": "forælder",
    "relative": "pårørende",
    "professional": "fagperson",
    "regain": "få noget tilbage",
    "maintain": "bevare det, der er",
    "severe_physical": "svært, varigt fysisk handicap",
    "progressive": "fremadskridende sygdom",
    "other": "andet",
    "illness": "nej, men det er en del af sygdommen",
    "stay_with_plan": "var indlagt og har planen",
    "no_plan": "ingen plan fra sygehuset",
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _value(fact: str, value: runner.Answer) -> str:
    if fact == "municipality":
        return MUNICIPALITY_NAMES[str(value)]
    if isinstance(value, int):
        return f"{value} år"
    return VALUE_LABELS.get(value, value)


def _answers(case: Case) -> str:
    skip = {"who", "age", "municipality"}
    return "<br>".join(f"{FACT_LABELS.get(f, f)}: {_value(f, v)}" for f, v in case.facts.items() if f not in skip)


def _expected(case: Case) -> str:
    exp = case.expect
    parts = [f"**{ROUTE_TITLES[exp.offer]}**"]
    if exp.unknowns:
        parts.append("Uafklaret, skal siges: " + ", ".join(FACT_LABELS.get(u, u) for u in exp.unknowns))
    if exp.complaint_body is not None:
        parts.append(f"Klage: {exp.complaint_body}" if exp.complaint_body else "Klage: ingen klageinstans (lægen henviser)")
    if exp.must_say:
        parts.append("Skal nævne: " + "; ".join(f"»{s}«" for s in exp.must_say))
    if exp.must_not_say:
        parts.append("Må ikke sige: " + "; ".join(f"»{s}«" for s in exp.must_not_say))
    return "<br>".join(parts)


def _law(case: Case) -> str:
    parts = [*case.expect.legal] or ["intet lovgrundlag (intet tilbud)"]
    if case.expect.not_legal:
        parts.append("ikke: " + "; ".join(case.expect.not_legal))
    if case.today != runner.DEFAULT_TODAY:
        parts.append(f"på datoen {case.today.isoformat()}")
    return "<br>".join(parts)


def _who(case: Case) -> str:
    place = MUNICIPALITY_NAMES[case.municipality]
    return f"{case.who}<br>{case.age} år, {place}"


def render(cases: Sequence[Case]) -> str:
    lines = [
        "# Scenarier: hvad Træningsguiden skal svare",
        "",
        "Denne side er lavet automatisk ud fra `tests/scenarios/*.yml` af `scripts/scenarios_md.py`. Ret ikke",
        "her; ret i YAML-filerne og kør `make scenarios-doc`. Hvert scenarie er en borger, der skriver til",
        "bot'en med egne ord, og de svar, borgeren giver på bot'ens spørgsmål. Det forventede svar bygger på",
        "den sætning fra kommunernes tekster (`../shared/seeds/`) eller fra `DOMAIN.md`, der står i sidste",
        "kolonne. Samme tabel køres som test mod reglerne (`tests/scenarios/test_scenarios_rules.py`) og mod",
        "den kørende bot (`tests/scenarios/test_scenarios_live.py`), så siden og bot'en ikke kan komme ud af",
        "trit med hinanden.",
        "",
        f"Dato: scenarierne gælder den {runner.DEFAULT_TODAY:%d.%m.%Y}, medmindre der står en anden dato ved",
        "lovgrundlaget; de scenarier prøver kun reglerne, ikke den kørende bot. Svaret »ved ikke« står med",
        "fed: det er et uafklaret punkt, som svaret skal nævne.",
        "",
        "**Gælder alle svar.** Bot'en må aldrig:",
        "",
    ]
    for rule in runner.GLOBAL_RULES:
        who = " (når en forælder, pårørende eller fagperson spørger)" if rule.askers else ""
        lines.append(f"- skrive »{rule.shown}«{who}: {rule.why}")
    lines += ["", "Antal scenarier: " + str(len(cases)) + ".", ""]
    lines += [f"- [{ROUTE_TITLES[r]}](#{_anchor(r)}) ({sum(c.route == r for c in cases)})" for r in runner.ROUTES]
    for route in runner.ROUTES:
        lines += ["", f"## {ROUTE_TITLES[route]}", ""]
        lines.append(
            "| Scenarie | Hvem, alder, kommune | Borgeren skriver | Svar på bot'ens spørgsmål | Forventet svar"
            " | Lovgrundlag | Kilde |"
        )
        lines.append("| --- | --- | --- | --- | --- | --- | --- |")
        for case in (c for c in cases if c.route == route):
            named = f"spørger om {TOPIC_TITLES[case.topic]}" if case.topic else "nævner ikke et bestemt tilbud"
            asks = f"»{case.opening}«<br>({named})"
            seed = f"»{case.seed.quote}«<br>`{case.seed.file}`"
            row = [
                f"**{case.title}**<br>`{case.id}`",
                _who(case),
                asks,
                _answers(case),
                _expected(case),
                _law(case),
                seed,
            ]
            lines.append("| " + " | ".join(_cell(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


def _anchor(route: str) -> str:
    title = ROUTE_TITLES[route].lower()
    return "".join(ch for ch in title.replace(" ", "-") if ch.isalnum() or ch == "-")


def main(argv: Sequence[str] = ()) -> int:
    text = render(runner.load_cases())
    if "--check" in argv:
        current = runner.DOC.read_text(encoding="utf-8") if runner.DOC.exists() else ""
        if current != text:
            print(f"{runner.DOC} is out of date: run make scenarios-doc", file=sys.stderr)
            return 1
        return 0
    runner.DOC.write_text(text, encoding="utf-8")
    print(f"wrote {runner.DOC.relative_to(runner.ROOT)} ({len(runner.load_cases())} scenarios)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
