"""Yes/no replies on StrategyQA (real questions and facts)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from dq_tasks.extract import INVALID
from tests.grading_corpus.core import Case


def facts(doc: dict, rng: random.Random, n: int = 2) -> str:
    found = list(doc.get("facts") or [])
    return " ".join(rng.sample(found, min(n, len(found))))


def pick(doc: dict, rng: random.Random) -> str:
    return doc["answers"][0] if rng.random() < 0.7 else rng.choice(("yes", "no"))


def word(label: str, rng: random.Random) -> str:
    return rng.choice({"yes": ("Yes", "yes", "True", "YES"), "no": ("No", "no", "False", "NO")}[label])


# Justifications that use yes/no/true/false words without answering.
JUSTIFY = (
    "It is true that {f}",
    "No one would dispute this: {f}",
    "{f} That much is true, and there is no doubt about it.",
    "{f} Some people think it is false, but the facts say otherwise.",
    "{f} True, there are exceptions.",
)


def case(cls: str, reply: str, label: str, marker: bool = True) -> Case:
    return Case("yes_no", cls, reply, label, marker, "yes_no")


def plain_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    form = rng.choice(
        (
            "The answer is: {w}",
            "The answer is {w}.",
            "So the answer is: **{w}**",
            "The final answer is: {w}",
            "Thus, the answer is {w}.",
        )
    )
    yield case("earlier: plain marker", f"{facts(doc, rng)}\n{form.format(w=word(label, rng))}", label)


def marker_then_justification(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    why = rng.choice(JUSTIFY).format(f=facts(doc, rng, 1))
    reply = f"The answer is: {word(label, rng)}. {why}"
    yield case("yes/no: stated answer beats justification words", reply, label)


def leading_answer(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    lead = rng.choice({"yes": ("Yes.", "Yes,", "Yes!", "True."), "no": ("No.", "No,", "No!", "False.")}[label])
    why = rng.choice(JUSTIFY).format(f=facts(doc, rng, 1))
    yield case("yes/no: stated answer beats justification words", f"{lead} {why}", label, marker=False)


def idioms(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    lead = rng.choice(
        {
            "yes": (
                "Of course!",
                "Of course.",
                "Definitely.",
                "Absolutely!",
                "Certainly.",
                "Of course, ",
                "Most likely.",
            ),
            "no": (
                "Definitely not.",
                "Of course not.",
                "Absolutely not!",
                "Certainly not.",
                "Not at all.",
                "No way.",
                "Probably not.",
            ),
        }[label]
    )
    f = facts(doc, rng)
    marked = rng.random() < 0.4
    reply = f"The answer is: {lead} {f}" if marked else f"{lead} {f}"
    yield case("yes/no: idioms and negations", reply, label, marker=marked)


def conclusion(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    end = rng.choice(("So, {w}.", "Therefore, {w}.", "so the answer would be {w}.", "Thus {w}."))
    yield case(
        "yes/no: justification then conclusion",
        f"{facts(doc, rng)}\n{end.format(w=word(label, rng).lower())}",
        label,
        marker="answer" in end,
    )


def styled_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    form = rng.choice(
        ("**Answer:** {w}", "### Answer\n{w}", "**Final Answer**: {w}.", "Final answer - {w}", "The answer is:\n{w}")
    )
    yield case("marker: heading/bold/dash", f"{facts(doc, rng)}\n\n{form.format(w=word(label, rng))}", label)


def non_answer(doc: dict, rng: random.Random) -> Iterable[Case]:
    form = rng.choice(
        (
            "The answer is: yes or no",
            "The answer is: Yes/No",
            "The answer is: neither yes nor no",
            "I am not sure. It could be yes or no.",
        )
    )
    yield case("earlier: no answer stated", f"{facts(doc, rng)}\n{form}", INVALID, marker="answer" in form)


def chatter(doc: dict, rng: random.Random) -> Iterable[Case]:
    label = pick(doc, rng)
    bye = rng.choice(
        (
            "Do you have any other questions? No problem if not!",
            "Let me know if you need more help, no pressure!",
            "I hope this helps!",
        )
    )
    yield case(
        "flexible: closing chatter after marker", f"{facts(doc, rng)}\nThe answer is {word(label, rng)}.\n{bye}", label
    )


BUILDERS = [
    plain_marker,
    marker_then_justification,
    leading_answer,
    idioms,
    conclusion,
    styled_marker,
    non_answer,
    chatter,
]
