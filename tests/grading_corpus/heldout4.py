"""Fourth held-out batch (the ``scoring-review`` pass): replies in the style of small and larger
chat models (markdown headings, bold, LaTeX, step lists, tables, code blocks, self-checks,
units, percentages, decimals, words, cut-offs, follow-up questions, restated markers), written
before looking at the misses and run once against the filters before any change; its first
figures are recorded in dq_tasks/TASKS.md. Labels are what a careful grader reads.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from fractions import Fraction

from dq_tasks.answers import parse_number
from dq_tasks.extract import INVALID
from tests.grading_corpus.core import Case, letter_case, num, question_numbers, solution_lines

_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()


def words(n: int) -> str:
    """0..99 in words ("twenty-five")."""
    if n < 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    return _TENS[tens - 2] + (f"-{_UNITS[unit]}" if unit else "")


def _gold(doc: dict) -> Fraction:
    value = parse_number(str(doc["answers"][0]))
    assert value is not None
    return value


def _steps(doc: dict) -> list[str]:
    lines = solution_lines(doc)
    if lines:
        return lines
    numbers = question_numbers(doc["question"])
    return (
        [f"We use the numbers {', '.join(map(str, numbers))} from the problem."]
        if numbers
        else ["We read the problem."]
    )


def numeric4(doc: dict, rng: random.Random) -> Iterable[Case]:
    """GSM8K / SVAMP / GSM-Plus (answerable) replies."""
    g = _gold(doc)
    gs = num(g)
    steps = _steps(doc)
    k = rng.choice((2, 3, 5))
    head = "\n\n".join(f"## Step {i}: Work it out\n{s}" for i, s in enumerate(steps, 1))
    bullets = "\n".join(f"- {s}" for s in steps)
    numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    stepk = "\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1))
    q = doc["question"]
    integer = g.denominator == 1 and g >= 0
    templates: list[tuple[str, str, str, bool]] = [
        ("llama heading + boxed", f"{head}\n\nThe final answer is: $\\boxed{{{gs}}}$", gs, True),
        ("money .00", f"{bullets}\n\n**Answer:** ${gs}.00" if integer else f"{bullets}\n\n**Answer:** ${gs}", gs, True),
        ("N dollars", f"{numbered}\n\nSo the answer is {gs} dollars.", gs, True),
        ("percent", f"{stepk}\nTherefore, the answer is {gs}%.", gs, True),
        (
            "decimal trailing zero",
            f"{bullets}\nThe answer is {gs}.0" if integer else f"{bullets}\nThe answer is {gs}0",
            gs,
            True,
        ),
        ("negative", f"{bullets}\nThe value went down, so the answer is -{gs}.", num(-g), True),
        ("negative money", f"{bullets}\n**Final Answer:** -${gs}", num(-g), True),
        ("approximately", f"{numbered}\nThe answer is approximately {gs}.", gs, True),
        ("approx sign", f"{bullets}\n\n**Answer:** ≈ {gs}", gs, True),
        ("inline latex", f"{stepk}\nSo the answer is \\( {gs} \\).", gs, True),
        ("display latex expr", f"{bullets}\n\nThe answer is:\n$$\\text{{Total}} = {gs}$$", gs, True),
        ("question repeated", f"You asked: {q}\n\n{numbered}\n\nThe answer is {gs}.", gs, True),
        (
            "follow-up question",
            f"{bullets}\nThe answer is {gs}.\n\nWould you like me to solve it with {k} other methods?",
            gs,
            True,
        ),
        (
            "restated marker",
            f"{numbered}\nThe answer is {gs}.\n\nDouble-check: the steps agree, so again, the final answer is {gs}.",
            gs,
            True,
        ),
        (
            "self-check after answer",
            f"{bullets}\n\n**Answer: {gs}**\n\n✅ Check: {gs} + {k} - {k} = {gs}",
            gs,
            True,
        ),
        (
            "code block",
            f"```python\n# {steps[0][:60]}\nresult = {gs}\nprint(result)\n```\nOutput: `{gs}`\n\nThe answer is **{gs}**.",
            gs,
            True,
        ),
        (
            "table total",
            "| Step | Work |\n|---|---|\n"
            + "\n".join(f"| {i} | {s} |" for i, s in enumerate(steps, 1))
            + f"\n| **Total** | **{gs}** |",
            gs,
            False,
        ),
        ("table then answer", f"| Step | Work |\n|---|---|\n| 1 | {steps[0]} |\n\n### Answer\n**{gs}**", gs, True),
        ("Step N: answer", f"{stepk}\nStep {len(steps) + 1}: The answer is {gs}.", gs, True),
        ("units after bold label", f"{bullets}\n\n**Final answer**: {gs} in total", gs, True),
        ("reverse marker bold", f"{numbered}\n\n**{gs}** is the final answer.", gs, True),
        (
            "no marker, follow-up with number",
            f"{bullets}\nSo the total is {gs}. Do you want to see what happens with {k} more?",
            gs,
            False,
        ),
        ("no marker, x =", f"{bullets}\n\nx = {gs}", gs, False),
        ("cut off mid-sentence", f"{bullets}\nSo the answer is {gs}. To double-check, we add {k} and", gs, True),
        (
            "cut off mid-expression",
            f"{numbered}\nThis gives {gs}.\nNow checking: {gs} × {k} = ",
            gs,
            False,
        ),
        (
            "thousands commas",
            f"{bullets}\nThe answer is {int(g) * 1000:,}." if integer else f"{bullets}\nThe answer is {gs}.",
            num(g * 1000) if integer else gs,
            True,
        ),
    ]
    if integer and g < 100:
        templates.append(("answer in words", f"{bullets}\nThe answer is {words(int(g))}.", gs, True))
        templates.append(("words then digits", f"{bullets}\nThe answer is {words(int(g))} ({gs}).", gs, True))
    if integer and g > 1:
        templates.append(
            ("fraction form", f"{bullets}\nThe answer is \\(\\frac{{{2 * int(g)}}}{{2}} = {gs}\\).", gs, True)
        )
        templates.append(
            (
                "range",
                f"{bullets}\nThe answer is {gs} (somewhere between {int(g) - 1} and {int(g) + 1} is close).",
                gs,
                True,
            )
        )
    cls, reply, label, marker = rng.choice(templates)
    yield Case("numeric", f"held-out 4: {cls}", reply, label, marker, "number")


def unanswerable4(doc: dict, rng: random.Random) -> Iterable[Case]:
    """GSM-Plus critical thinking: the reply says the problem cannot be answered as posed."""
    numbers = ", ".join(str(n) for n in question_numbers(doc["question"])[:3])
    given = f"We know {numbers}." if numbers else "We know a few facts."
    cls, form, marker = rng.choice(
        (
            ("not enough information", "The answer is: Not enough information", True),
            (
                "cannot be solved",
                "**Final Answer:** The problem cannot be solved because a quantity is not specified.",
                True,
            ),
            ("unsolvable", "The problem is unsolvable as stated.", False),
            ("no way of knowing", "There is no way of knowing the final count from these facts.", False),
            ("need more information", "We need more information to answer this question.", False),
            (
                "never says",
                "Hmm, the question never says how many there were at the start, so I can't compute it.",
                False,
            ),
            ("missing from the problem", "### Answer\nThe number of items is missing from the problem.", True),
            ("unknown in parentheses", "Final answer: Unknown (the problem does not give the price).", True),
            ("cannot be calculated bold", "**The answer cannot be calculated with the given data.**", False),
            ("would need", "To answer, we would need to know how many days she worked, which is not provided.", False),
        )
    )
    yield Case("numeric", f"held-out 4: {cls}", f"{given}\n{form}", "None", marker, "number_or_none")


def none_mention4(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = num(_gold(doc))
    cls, form, marker = rng.choice(
        (
            ("none left, then answer", f"None of them were left over.\nThe answer is {g}.", True),
            ("no missing info", f"All the information is given, nothing is missing. **Answer:** {g}", True),
            ("answer then none", f"The answer is {g}. None of the other numbers matter.", True),
            ("no marker, none of", f"None of the apples were rotten, so she has {g} in total.", False),
        )
    )
    yield Case("numeric", f"held-out 4: {cls}", form, g, marker, "number_or_none")


def letter4(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    other = rng.choice([x for x in "ABCDE" if x != gold])
    text = next((o[2:] for o in doc["options"] if o[:1] == gold), "")
    otext = next((o[2:] for o in doc["options"] if o[:1] == other), "")
    listed = "\n".join(f"{o[:1]}) {o[2:]}" for o in doc["options"])
    cls, form, label, marker = rng.choice(
        (
            ("Answer: (B) text", f"Let me work it out.\n\nAnswer: ({gold}) {text}", gold, True),
            ("correct option is bold", f"The correct option is **{gold}**: {text}.", gold, True),
            (
                "heading then bold option",
                f"## Answer\n**({gold})** {text}\n\n## Why\nThe other options fail.",
                gold,
                True,
            ),
            (
                "options restated then answer",
                f"The options are:\n{listed}\n\nOnly {text} works. The answer is {gold}.",
                gold,
                True,
            ),
            ("boxed text letter", f"The final answer is $\\boxed{{\\text{{{gold}}}}}$", gold, True),
            ("therefore (B).", f"Checking each one, therefore, the answer is ({gold}).", gold, True),
            (
                "answer then verify other",
                f"The answer is {gold}.\n\nTo verify: option {other} ({otext}) would be too large.",
                gold,
                True,
            ),
            (
                "table of options then answer",
                f"| Option | Works? |\n|---|---|\n| {other} | ✗ |\n| {gold} | ✓ |\n\n**Final Answer: {gold}**",
                gold,
                True,
            ),
            ("lowercase", f"so the answer is {gold.lower()}", gold, True),
            ("option dash text", f"After simplifying, I get:\n\nOption {gold} — {text}", gold, False),
            ("it's (D).", f"I computed the value and compared. I think it's ({gold}).", gold, False),
            (
                "follow-up question",
                f"The answer is ({gold}) {text}. Do you want me to explain why ({other}) is wrong?",
                gold,
                True,
            ),
            ("correct answer label", f"Correct answer: {gold}\n\nReason: it matches {text}.", gold, True),
            (
                "cut off while checking options",
                f"Let's evaluate each option.\n{other}) {otext} is too small.\n{gold}) ",
                INVALID,
                False,
            ),
            ("answer is the value", f"The answer is {text}, which is option {gold}.", gold, True),
            (
                "markdown bold conclusion",
                f"### Solution\nSome algebra here.\n\n### Conclusion\nThe right choice is **({gold}) {text}**.",
                gold,
                False,
            ),
        )
    )
    yield letter_case(f"held-out 4: {cls}", form, label, marker, doc)


def yes_no4(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    yes = gold == "yes"
    facts = list(doc.get("facts") or ["That is the case."])
    fact = " ".join(facts[:2])
    y, n = ("yes", "no") if yes else ("no", "yes")
    cls, form, label, marker = rng.choice(
        (
            (
                "Yes, ... then So the answer is no",
                f"{n.capitalize()}, it might seem so at first. {fact} So the answer is {y}.",
                y,
                True,
            ),
            ("bold answer first", f"**Answer: {y.capitalize()}.**\n\n{fact}", y, True),
            ("heading answer", f"## Answer\n{y.capitalize()}\n\n## Explanation\n{fact}", y, True),
            ("thus bold", f"{fact} Thus, the answer is **{y}**.", y, True),
            ("short answer label", f"Short answer: {y}. Long answer: {fact}", y, True),
            ("final verdict true/false", f"{fact}\n\nFinal verdict: **{'True' if yes else 'False'}**", y, False),
            ("Absolutely / Not at all", f"{'Absolutely!' if yes else 'Not at all.'} {fact}", y, False),
            ("statement is true/false", f"The statement is {'true' if yes else 'false'}. {fact}", y, False),
            ("answer is: No, because", f"{fact}\nSo the answer is: {y.capitalize()}, given the facts above.", y, True),
            ("in conclusion", f"{fact}\n\nIn conclusion: {y}.", y, False),
            ("self-correction", f"{n.capitalize()}.\n\nWait, {fact} So actually, the answer is {y}.", y, True),
            ("cut off after marker", f"{fact} Therefore, the answer is", INVALID, False),
            ("not enough information", f"{fact}\nThe answer is: Not enough information.", INVALID, True),
            ("follow-up question", f"{y.capitalize()}. {fact} Do you want to know more? Yes?", y, False),
            (
                "steps then answer",
                "\n".join(f"Step {i}: {f}" for i, f in enumerate(facts, 1)) + f"\nAnswer: {y}",
                y,
                True,
            ),
        )
    )
    yield Case("yes_no", f"held-out 4: {cls}", form, label, marker, "yes_no")


def span4(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = str(doc["answers"][0])
    cls, form, marker = rng.choice(
        (
            ("bold label", f"**Answer:** {gold}", True),
            ("answer is bold period", f"The answer is **{gold}**.", True),
            ("heading + explanation", f"## Answer\n{gold}\n\n## Explanation\nThe passage states it directly.", True),
            ("follow-up question", f"The answer is {gold}. Would you like more details about the passage?", True),
            ("answer + anything else", f"Answer: {gold}\n\nIs there anything else you'd like to know?", True),
            ("explanation after", f"{gold}\n\nExplanation: this is stated in the passage.", False),
            ("confidence line", f"Final Answer: {gold}\nConfidence: high", True),
            ("boxed text", f"The answer is $\\boxed{{\\text{{{gold}}}}}$", True),
            ("restated", f"The answer is {gold}.\n\nTo summarise, the answer is {gold}.", True),
            ("bold alone", f"**{gold}**", False),
            ("bullet bold label", f"- **Answer**: {gold}\n- **Source**: the passage", True),
            ("aside", f"The answer is {gold} (see the second paragraph).", True),
            ("quoted", f'The answer is "{gold}".', True),
            ("question repeated", f"The question asks: {doc['question']}\nThe answer is {gold}.", True),
        )
    )
    yield Case("span", f"held-out 4: {cls}", form, gold, marker, "span", {"answers": doc["answers"]})
