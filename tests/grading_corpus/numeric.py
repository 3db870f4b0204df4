"""Numeric replies (GSM8K questions and worked solutions, GSM-Plus critical thinking, GSM-Hard)."""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from tests.grading_corpus.core import Case, money, num, question_numbers, solution_lines

OPENERS = (
    "To solve this problem, let's break it down step by step.",
    "Let's solve this step by step.",
    "Sure! Here's how to solve it:",
    "Okay, let's think about this.",
    "**Step-by-step solution:**",
    "",
)
CHATTER = (
    "I hope this helps! Let me know if you have {k} more questions.",
    "Let me know if you need help with the other {k} problems!",
    "If you have {k} more questions, feel free to ask.",
    "I hope that helps. Do you want me to solve {k} more examples?",
    "Hope this helps! 😊 Feel free to ask {k} more questions anytime.",
)


def gold(doc: dict) -> int:
    return int(float(doc["answers"][0]))


def body(doc: dict, rng: random.Random) -> str:
    lines = solution_lines(doc)
    opener = rng.choice(OPENERS)
    if rng.random() < 0.5:
        lines = [f"{i}. {line}" if rng.random() < 0.5 else f"Step {i}: {line}" for i, line in enumerate(lines, 1)]
    return "\n".join(x for x in [opener, *lines] if x)


def stated(doc: dict, rng: random.Random) -> int:
    """What the reply states: mostly the gold, sometimes a near miss (graders read both)."""
    g = gold(doc)
    return g if rng.random() < 0.7 else g + rng.choice((-3, -1, 1, 2, 10))


def case(cls: str, reply: str, label: str, marker: bool = True, kind: str = "number") -> Case:
    return Case("numeric", cls, reply, label, marker, kind)  # type: ignore[arg-type]


def plain_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = stated(doc, rng)
    form = rng.choice(
        (
            "The answer is: {v}",
            "The answer is {v}.",
            "So, the answer is {v}.",
            "Therefore, the final answer is {v}.",
            "The answer is: **{v}**",
            "**The answer is: {v}**",
            "The answer is: $\\boxed{{{v}}}$",
            "Therefore, the final answer is $\\boxed{{{v}}}$.",
            "The answer is: {v}\nQuestion: A baker has 12 trays. How many?",
            "The answer is: `{v}`",
        )
    )
    yield case("earlier: plain marker", f"{body(doc, rng)}\n{form.format(v=v)}", num(v))


def styled_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = stated(doc, rng)
    form = rng.choice(
        (
            "**Final Answer**: {v}",
            "**Final Answer:** {v}",
            "### Answer\n{v}",
            "### Final Answer\n\n**{v}**",
            "## Final Answer\nThe total is {v}.",
            "Final answer - {v}",
            "Final Answer — {v}",
            "**Answer:** {v}",
            "**Final answer:** ${v}",
            "Final Answer\n{v}",
        )
    )
    yield case("marker: heading/bold/dash", f"{body(doc, rng)}\n\n{form.format(v=v)}", num(v))


def next_line(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = stated(doc, rng)
    form = rng.choice(
        (
            "The answer is:\n{v}",
            "The answer is:\n\n{v}",
            "The final answer is:\n**{v}**",
            "The answer is:\n{v} dollars",
            "So the answer is:\n\n$\\boxed{{{v}}}$",
            "**Final Answer:**\n{v}",
        )
    )
    yield case("marker: answer on next line", f"{body(doc, rng)}\n{form.format(v=v)}", num(v))


def expression(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = stated(doc, rng)
    a = rng.randint(1, max(2, abs(v) - 1)) if v > 2 else 1
    b = v - a
    k = rng.choice((2, 3, 4, 5))
    form = rng.choice(
        (
            f"The answer is: {a} + {b} = {v}",
            f"The answer is: {a} + {b} = {v} in total.",
            f"The answer is {v * k} / {k} = {v}.",
            f"The answer is: {v * k} / {k}, so {v}",
            f"The answer is: {a} + {b}, which is {v}.",
            f"The answer is: {v + k} - {k} = {v} dollars",
            f"The answer is: {a} + {b} = {v + k} - {k} = {v}",
            f"The answer is: {money(v * k)} / {k} = {money(v)}.",
            f"The final answer is {a} plus {b} = {v}.",
        )
    )
    yield case("marker: expression ends in its result", f"{body(doc, rng)}\n{form}", num(v))


def numbered_list(doc: dict, rng: random.Random) -> Iterable[Case]:
    lines = solution_lines(doc)
    v = gold(doc)
    if not lines or not re.search(rf"(?<![\d.]){v}(?!\d|\.\d)", lines[-1].replace(",", "")):
        return  # the list must conclude with the answer in digits for the label to be stated
    items = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    inline = " ".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    form = rng.choice((f"The answer is:\n{items}", f"The answer is: {inline}", f"**Final Answer:**\n{items}"))
    yield case("marker: numbered list is not 1", f"{rng.choice(OPENERS)}\n{form}".strip(), num(v))


def signs(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = gold(doc) * rng.choice((1, 37, 123))
    form, label = rng.choice(
        (
            (f"The answer is: -{money(v)}", -v),
            (f"The answer is − {v}", -v),
            (f"The answer is: - {v} degrees", -v),
            (f"The answer is: −${v:,}.", -v),
            (f"The answer is: {money(v)}.", v),
            (f"The answer is: {v:,} dollars.", v),
            (f"The final answer is: {v:,} meters.", v),
            (f"Final answer: -${v:,}.00", -v),
        )
    )
    yield case("marker: sign, currency, separators", f"{body(doc, rng)}\n{form}", num(label))


def chatter_after_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = stated(doc, rng)
    k = rng.choice((2, 3, 5, 10))
    bye = rng.choice(CHATTER).format(k=k)
    sep = rng.choice((" ", "\n", "\n\n"))
    yield case("flexible: closing chatter after marker", f"{body(doc, rng)}\nThe answer is: {v}.{sep}{bye}", num(v))


def no_marker(doc: dict, rng: random.Random) -> Iterable[Case]:
    lines = solution_lines(doc)
    v = gold(doc)
    k = rng.choice((2, 3, 4))
    q = question_numbers(doc["question"]) or [k]
    tail, label = rng.choice(
        (
            (f"So the total is {v}.", v),
            (f"Therefore, {v} is the total.\n\nWould you like me to check {k} more problems?", v),
            (f"That makes {v}. Do you have {k} more questions?", v),
            (f"So we get {v}.\n\nNext, {v} + ", v),
            (f"So she ends with {v}. Then total = {q[0]} + ", v),
            (f"The total comes to {v}.\nLet me know if you need {k} more examples!", v),
            (f"{v}", v),
        )
    )
    numbered = rng.random() < 0.5
    steps = [f"{i}. {line}" if numbered else line for i, line in enumerate(lines, 1)]
    yield case("flexible: last completed answer", "\n".join([*steps, tail]), num(label), marker=False)


def no_marker_list_end(doc: dict, rng: random.Random) -> Iterable[Case]:
    """No marker; the reply ends with the list whose last step concludes the answer."""
    lines = solution_lines(doc)
    v = gold(doc)
    steps = "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    extra = rng.choice(("", f"\n{len(lines) + 1}. Check the result.", "\n\n1. "))
    label = v
    yield case("flexible: last completed answer", f"Steps:\n{steps}{extra}", num(label), marker=False)


def earlier_formats(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = gold(doc)
    form, label = rng.choice(
        (
            (f"The answer is: \\boxed{{\\frac{{{v * 4}}}{{4}}}}", v),
            (f"The answer is: {v}.00", v),
            (f"The answer is: {v}%", v),
            (f"the answer is:{v}", v),
            (f"THE ANSWER IS: {v} eggs", v),
            (f"The answer is : {v}", v),
            (f"The answer is: {v}\n\nQuestion: Tom has 4 apples and eats 1.", v),
            (f"The answer is: {v} (since the total is {v}).", v),
        )
    )
    yield case("earlier: number formats", f"{body(doc, rng)}\n{form}", num(label))


WORDS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def in_words(n: int) -> str:
    if n < 20:
        return WORDS[n]
    if n < 100:
        return TENS[n // 10 - 2] + ("" if n % 10 == 0 else "-" + WORDS[n % 10])
    rest = n % 100
    return WORDS[n // 100] + " hundred" + ("" if rest == 0 else " and " + in_words(rest))


def words_and_scales(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = gold(doc)
    choices = [(f"The answer is {v / 10**6:g} million.", v)] if v >= 10**6 and v % 10**5 == 0 else []
    if 0 < v < 1000:
        choices += [(f"The answer is {in_words(v)}.", v), (f"The answer is: {in_words(v)} dollars", v)]
    choices += [(f"The answer is {v} 1/2 hours.", v + 0.5), (f"The answer is ${v:,} thousand.", v * 1000)]
    form, label = rng.choice(choices)
    yield case("marker: numbers in words, scales, mixed numbers", f"{body(doc, rng)}\n{form}", num(label))


def hard(doc: dict, rng: random.Random) -> Iterable[Case]:
    """Replies a careful grader reads that these filters do not (kept for an honest figure)."""
    v = gold(doc)
    form, label, marker = rng.choice(
        (
            (f"The answer is {v + 1}. Wait, I made a mistake: the answer is {v}.", v, True),
            (f"She needs {v} in total, not {v + 5}.", v, False),
        )
    )
    yield case("hard: beyond the filters", f"{body(doc, rng)}\n{form}", num(label), marker)


# --------------------------------------------------------------------------- GSM-Plus
def unanswerable(doc: dict, rng: random.Random) -> Iterable[Case]:
    """GSM-Plus critical thinking (gold None): statements that the problem cannot be answered."""
    k = rng.choice((2, 3, 5))
    statement, marker = rng.choice(
        (
            ("The answer is: None", True),
            ("The problem does not say how many there are, so the answer is: None.", True),
            ("The answer is: The question cannot be answered because a value is missing.", True),
            ("There is not enough information to determine the answer.", False),
            ("We are not told the missing amount, so it is impossible to calculate the total.", False),
            (f"Since the {k} values are not given, we can't determine the answer.", False),
            ("The answer cannot be determined from the information given.", False),
            ("The information about the second amount is missing, so this cannot be solved.", False),
            ("**Final Answer:** Cannot be determined (insufficient information).", True),
            ("The answer is: Unknown, since the question doesn't specify the number.", True),
            (f"To find the total we would need the price of the {k} items, which is not provided.", False),
        )
    )
    reply = f"{rng.choice(OPENERS)}\nLet's look at the numbers: {', '.join(map(str, question_numbers(doc['question'])))}.\n{statement}"
    yield case("gsm-plus: cannot be answered", reply.strip(), "None", marker, "number_or_none")


def number_mentions_none(doc: dict, rng: random.Random) -> Iterable[Case]:
    v = gold(doc)
    form = rng.choice(
        (
            f"None of the items are left over, so the total is {v}.\nThe answer is: {v}",
            f"The answer is: {v}. None of the numbers are missing.",
            f"There are none left after the first step, and then {v} are added. The answer is {v}.",
            f"None of them are broken, so she has {v}.",
        )
    )
    yield case(
        "gsm-plus: number with 'none' elsewhere",
        f"{body(doc, rng)}\n{form}",
        num(v),
        "The answer is" in form,
        "number_or_none",
    )


BUILDERS = [
    plain_marker,
    styled_marker,
    next_line,
    expression,
    numbered_list,
    signs,
    chatter_after_marker,
    no_marker,
    no_marker_list_end,
    earlier_formats,
    words_and_scales,
    hard,
]
