"""Multiple-choice replies on AQuA (real questions, options and rationales)."""

from __future__ import annotations

import random
from collections.abc import Iterable

from dq_tasks.answers import find_numbers, unwrap
from tests.grading_corpus.core import Case, num

LETTERS = "ABCDE"


def options(doc: dict) -> list[str]:
    return list(doc["options"])


def value(doc: dict, letter: str) -> str:
    """The option's own text ("12.5 hours")."""
    return next((o[2:].strip() for o in doc["options"] if o[:1] == letter), "")


def reasoning(doc: dict, rng: random.Random) -> str:
    lines = [ln for ln in doc.get("rationale", "").split("\n") if ln.strip() and "answer" not in ln.lower()]
    opener = rng.choice(("Let's solve this step by step.", "We need to find the right option.", "**Solution:**", ""))
    return "\n".join(x for x in [opener, *lines[:4]] if x)


def pick(doc: dict, rng: random.Random) -> str:
    """The option the reply states: mostly the gold, sometimes another one."""
    return doc["answers"][0] if rng.random() < 0.7 else rng.choice(LETTERS)


def others(letter: str, rng: random.Random, n: int = 2) -> list[str]:
    return rng.sample([x for x in LETTERS if x != letter], n)


def case(cls: str, doc: dict, reply: str, label: str, marker: bool = True) -> Case:
    return Case("letter", cls, reply, label, marker, "letter", {"options": options(doc), "answers": doc["answers"]})


def weak_answer(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    form = rng.choice(("Answer: {l}", "Answer: ({l})", "Answer: {l}) {v}", "Answer: {l}.", "Correct answer: {l}"))
    yield case(
        "letter: 'Answer: B'", doc, f"{reasoning(doc, rng)}\n{form.format(l=letter, v=value(doc, letter))}", letter
    )


def correct_answer_is(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    form = rng.choice(
        (
            "The correct answer is {l}.",
            "The correct answer is ({l}).",
            "So the correct answer is {l}) {v}.",
            "The correct option is {lo}.",
            "Therefore, the correct answer is **{l}**.",
            "The right answer is option {l}.",
        )
    )
    reply = f"{reasoning(doc, rng)}\n{form.format(l=letter, lo=letter.lower(), v=value(doc, letter))}"
    yield case("letter: 'The correct answer is B.'", doc, reply, letter)


def stated_option_then_discussion(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    a, b = others(letter, rng)
    head = rng.choice(("({l}) {v}", "{l}) {v}", "**({l}) {v}**", "({l})", "**{l}**"))
    talk = rng.choice(
        (
            "Option ({a}) is too small, and ({b}) does not fit the rate.",
            "We can rule out ({a}) and ({b}) because they are too large.",
            "Why not {a})? Because it ignores the second part. {b}) is also wrong.",
            "The other options, such as ({a}) and ({b}), come from common mistakes.",
        )
    )
    reply = f"{head.format(l=letter, v=value(doc, letter))}\n\n{reasoning(doc, rng)}\n{talk.format(a=a, b=b)}"
    yield case("letter: stated option, then other options discussed", doc, reply, letter, marker=False)


def expression_to_value(doc: dict, rng: random.Random) -> Iterable[Case]:
    """The marker line computes the option's value instead of naming the letter."""
    values = {o[:1]: find_numbers(unwrap(o[2:]))[:1] for o in doc["options"]}
    unique = [x for x, v in values.items() if v and list(values.values()).count(v) == 1 and v[0] > 2]
    if not unique:
        return
    letter = doc["answers"][0] if doc["answers"][0] in unique else rng.choice(unique)
    v = values[letter][0]
    k = rng.choice((2, 4, 5))
    form = rng.choice(
        (
            f"The answer is: {num(v * k)} / {k} = {num(v)}",
            f"The answer is {num(v - 1)} + 1 = {num(v)}.",
            f"The answer is: {num(v * k)} / {k}, so {num(v)}.",
        )
    )
    yield case("letter: marker expression evaluates to an option", doc, f"{reasoning(doc, rng)}\n{form}", letter)


def plain_forms(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    form = rng.choice(
        (
            "The answer is: {l}",
            "The answer is: {lo}",
            "The answer is: ({lo})",
            "The answer is: {l})",
            "The answer is: ({l}) {v}",
            "The answer is {l}.",
            "The answer is: **{l}**",
            "The answer is: option {l}",
            "The answer is: \\boxed{{{l}}}",
            "The answer is: {l}: {v}",
        )
    )
    reply = f"{reasoning(doc, rng)}\n{form.format(l=letter, lo=letter.lower(), v=value(doc, letter))}"
    yield case("earlier: marker letter forms", doc, reply, letter)


def marker_then_discussion(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    a, b = others(letter, rng)
    tail = rng.choice(
        (
            f"Options ({a}) and ({b}) are too small.",
            f"Note that {a}) would be right only if the rate doubled, and (B) is a trap.",
            f"I hope this helps! Let me know if you want me to explain option {b}.",
        )
    )
    reply = f"{reasoning(doc, rng)}\nThe answer is ({letter}). {tail}"
    yield case("letter: later letters do not override", doc, reply, letter)


def styled_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    form = rng.choice(
        (
            "**Final Answer:** ({l})",
            "### Answer\n{l}",
            "Final answer - {l}",
            "**Answer:** {l}) {v}",
            "### Final Answer\n\n**({l}) {v}**",
        )
    )
    reply = f"{reasoning(doc, rng)}\n\n{form.format(l=letter, v=value(doc, letter))}"
    yield case("marker: heading/bold/dash", doc, reply, letter)


def no_marker_end(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    form = rng.choice(("So the answer must be option {l}.", "Hence, {l}) is correct.", "This matches ({l}).", "{l}"))
    yield case(
        "letter: no marker, stated at the end",
        doc,
        f"{reasoning(doc, rng)}\n{form.format(l=letter)}",
        letter,
        marker=False,
    )


def restated_options(doc: dict, rng: random.Random) -> Iterable[Case]:
    letter = pick(doc, rng)
    listing = "\n".join(doc["options"])
    reply = f"The options are:\n{listing}\n\n{reasoning(doc, rng)}\nSo it is ({letter}) {value(doc, letter)}."
    yield case("letter: options restated first", doc, reply, letter, marker=False)


BUILDERS = [
    weak_answer,
    correct_answer_is,
    stated_option_then_discussion,
    expression_to_value,
    plain_forms,
    marker_then_discussion,
    styled_marker,
    no_marker_end,
    restated_options,
]
