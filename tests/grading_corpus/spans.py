"""Short-answer replies on DROP (real passages and golds) and Bamboogle."""

from __future__ import annotations

import random
from collections.abc import Iterable

from tests.grading_corpus.core import Case

POLITE = (
    "I hope this helps!",
    "Let me know if you have any other questions.",
    "Hope that helps! 😊",
    "Feel free to ask if you need more help.",
)


def gold(doc: dict) -> str:
    return str(doc["answers"][0])


def evidence(doc: dict, rng: random.Random) -> str:
    context = doc.get("context") or ""
    sentences = [s.strip() for s in context.split(". ") if s.strip()]
    if not sentences:
        return rng.choice(("Let me think about this.", "Based on what I know:", ""))
    start = rng.randrange(len(sentences))
    return "According to the passage, " + ". ".join(sentences[start : start + 2]).rstrip(".") + "."


def case(cls: str, doc: dict, reply: str, label: str, marker: bool = True) -> Case:
    return Case("span", cls, reply, label, marker, "span", {"answers": doc["answers"]})


def plain_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    form = rng.choice(
        (
            "The answer is: {g}",
            "The answer is {g}.",
            "The answer is: **{g}**",
            "So the answer is: {g}",
            'The answer is: "{g}"',
            "The answer is: {g}\nQuestion: Who else?",
        )
    )
    yield case("earlier: plain marker", doc, f"{evidence(doc, rng)}\n{form.format(g=g)}", g)


def one_character(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = str(rng.randint(1, 9))
    after = rng.choice(
        (
            "The {t} scored first.",
            "This is stated in the passage.",
            "That is the count.",
            "In total, the passage lists them.",
        )
    )
    form = rng.choice(("The answer is: {g}. {a}", "The answer is {g}. {a}", "Final answer: {g}. {a}", "{g}. {a}"))
    reply = f"{evidence(doc, rng)}\n{form.format(g=g, a=after.format(t='team'))}"
    yield case("span: one-character answer, then a sentence", doc, reply, g, marker=not form.startswith("{g}"))


def polite(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    bye = rng.choice(POLITE)
    marked = rng.random() < 0.6
    reply = f"{evidence(doc, rng)}\nThe answer is: {g}. {bye}" if marked else f"{g}\n{bye}"
    yield case("span: polite trailing sentence", doc, reply, g, marker=marked)


def styled_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    form = rng.choice(
        (
            "**Final Answer**: {g}",
            "### Answer\n{g}",
            "Final answer - {g}",
            "**Answer:** {g}",
            "## Final Answer\n\n**{g}**",
        )
    )
    yield case("marker: heading/bold/dash", doc, f"{evidence(doc, rng)}\n\n{form.format(g=g)}", g)


def next_line(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    form = rng.choice(("The answer is:\n{g}", "The answer is:\n\n**{g}**", "The final answer is:\n{g}."))
    yield case("marker: answer on next line", doc, f"{evidence(doc, rng)}\n{form.format(g=g)}", g)


def weak_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    yield case("span: 'Answer: X'", doc, f"{evidence(doc, rng)}\nAnswer: {g}", g)


def numbers_in_chatter(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = gold(doc)
    k = rng.choice((2, 3, 5))
    reply = f"{evidence(doc, rng)}\nThe answer is: {g}.\nLet me know if you have {k} more questions."
    yield case("flexible: closing chatter after marker", doc, reply, g)


def bare_then_explanation(doc: dict, rng: random.Random) -> Iterable[Case]:
    """A bare answer, then an explanation line: flexible (the last line) is documented to read
    the explanation; the grader reads the answer."""
    g = gold(doc)
    yield case("span: bare answer, then explanation", doc, f"{g}\n{evidence(doc, rng)}", g, marker=False)


BUILDERS = [
    plain_marker,
    one_character,
    polite,
    styled_marker,
    next_line,
    weak_marker,
    numbers_in_chatter,
    bare_then_explanation,
]
