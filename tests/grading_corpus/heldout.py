"""Held-out templates: written after the filters were fixed and run once before any further
change, so their first agreement figure (dq_tasks/TASKS.md) is not tuned to them."""

from __future__ import annotations

import random
from collections.abc import Iterable

from dq_tasks.extract import INVALID
from tests.grading_corpus.core import Case, letter_case, num, question_numbers, solution_lines


def _numeric(cls: str, reply: str, label: str, marker: bool) -> Case:
    return Case("numeric", f"held-out: {cls}", reply, label, marker, "number")


def numeric(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = int(float(doc["answers"][0]))
    steps = solution_lines(doc)
    work = "\n".join(f"- {s}" for s in steps)
    k = rng.choice((2, 3, 7))
    form, marker = rng.choice(
        (
            (f"{work}\n\n**Answer: {g}**", True),
            (f"{work}\n\nThe answer is: **{g:,}** (in total).", True),
            (
                f"Let me calculate.\n{work}\nSo, the final answer is: {g}.\n\nIs there anything else? I can help with {k} more.",
                True,
            ),
            (f"{work}\n\n#### Final Answer\n**{g}**", True),
            (f"{work}\nThe answer is {g - k} + {k} = {g}.", True),
            (f"{work}\nThus the answer is: ${g}.00", True),
            (f"{work}\nAnswer: {g}", True),
            (f"{work}\nIn total, there are {g}.", False),
            (
                f"{work}\nSo the result is {g}. Hope this helps, and good luck with your {k} other homework problems!",
                False,
            ),
            (f"**Solution**\n{work}\n**Result:** {g}", False),
        )
    )
    yield _numeric("numeric", form, num(g), marker)


def letter(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    other = rng.choice([x for x in "ABCDE" if x != gold])
    text = next((o[2:] for o in doc["options"] if o[:1] == gold), "")
    form, marker = rng.choice(
        (
            (f"The answer is: **({gold})** {text}", True),
            (f"After checking each choice, the correct answer is option **{gold}**.", True),
            (f"Answer: ({gold})\n\nExplanation: ({other}) is a common wrong choice.", True),
            (f"### Final Answer\n({gold}) {text}\n\nNote: option ({other}) would need a different rate.", True),
            (f"**{gold}) {text}**\n\nThe rest, like {other}), do not satisfy the equation.", False),
            (f"Checking the options, only {gold}) {text} works, so I choose {gold}.", False),
            (f"The answer is {gold}) because {text} satisfies the condition, and {other}) does not.", True),
            (f"Final answer: {gold.lower()}", True),
        )
    )
    yield letter_case("held-out: letter", form, gold, marker, doc)


def yes_no(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    fact = (doc.get("facts") or ["That is the case."])[0]
    yes = gold == "yes"
    form, label, marker = rng.choice(
        (
            (f"**Answer:** {'Yes' if yes else 'No'}\n\n**Reasoning:** {fact}", gold, True),
            (f"{fact} Therefore, the answer is {'yes' if yes else 'no'}.", gold, True),
            (f"{'Yes' if yes else 'No'}, because {fact[0].lower() + fact[1:]}", gold, False),
            (f"{'Sure.' if yes else 'Nope.'} {fact}", gold, False),
            (f"The answer is: {'True' if yes else 'False'}\n{fact} No other facts are needed.", gold, True),
            (f"{fact}\nSo my answer is {'yes' if yes else 'no'}.", gold, True),
            (f"I would say {'yes' if yes else 'no'}. {fact}", gold, False),
            (f"{fact}\nIt's hard to say: yes or no.", INVALID, False),
        )
    )
    yield Case("yes_no", "held-out: yes/no", form, label, marker, "yes_no")


def span(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = str(doc["answers"][0])
    form, marker = rng.choice(
        (
            (f"**Answer:** {gold}", True),
            (f"Based on the passage, the answer is **{gold}**. Let me know if you need anything else!", True),
            (f"The answer is: {gold}\n\nExplanation: the passage says so directly.", True),
            (f"### Final Answer\n{gold}\n\nI hope this is what you were looking for.", True),
            (f"{gold}.", False),
            (f"{gold}\n\nHope this helps!", False),
            (f"Final answer: {gold}. Thanks for the question!", True),
            (f"The final answer is {gold}. I hope this helps you!", True),
        )
    )
    yield Case("span", "held-out: span", form, gold, marker, "span", {"answers": doc["answers"]})


# --------------------------------------------------------------------------- second held-out batch
# Written after the first batch's fixes; its first figures are recorded in dq_tasks/TASKS.md.
def numeric2(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = int(float(doc["answers"][0]))
    steps = solution_lines(doc)
    work = " ".join(steps)
    form, marker = rng.choice(
        (
            (f"{work}\n\\[\n\\boxed{{{g}}}\n\\]", True),
            (f"{work}\n#### {g}", True),
            (f"{work}\nSo, {g} is the answer.", True),
            (f"{work}\nFinal answer = {g}", True),
            (f"Okay! {work} The answer should be {g}.", True),
            (f"{work}\n\n**The answer is {g:,} dollars.**", True),
            (f"{work}\nTherefore, the answer is {g} (because the steps above add up).", True),
            (f"{work}\n**Final result:** {g}", False),
            (f"{work} Thus she ends up with a total of {g} in the end!", False),
            (f"{work}\nThe answer is:\n\n$$ {g} $$", True),
        )
    )
    yield Case("numeric", "held-out 2: numeric", form, num(g), marker, "number")


def letter2(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    other = rng.choice([x for x in "ABCDE" if x != gold])
    text = next((o[2:] for o in doc["options"] if o[:1] == gold), "")
    form, marker = rng.choice(
        (
            (f"{gold} is the correct answer.", True),
            (f"Option {gold} is correct, since {text} fits. Option {other} does not.", False),
            (f"I choose {gold}.", False),
            (f"The answer must be {gold}.", True),
            (f"\\boxed{{{gold}}}", True),
            (f"The answer is option ({gold}) {text}, not ({other}).", True),
            (f"**{gold}**\n\nWhy: the others, like {other}, are too big.", False),
            (f"So I'll go with ({gold}).", False),
        )
    )
    yield letter_case("held-out 2: letter", form, gold, marker, doc)


def yes_no2(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = doc["answers"][0]
    fact = (doc.get("facts") or ["That is the case."])[0]
    yes = gold == "yes"
    form, label, marker = rng.choice(
        (
            (f"{fact}\n\\boxed{{{'Yes' if yes else 'No'}}}", gold, True),
            (f"Yep! {fact}" if yes else f"Nah. {fact}", gold, False),
            (f"{fact} So that's a {'yes' if yes else 'no'}.", gold, False),
            (f"{'Correct' if yes else 'Incorrect'}. {fact}", gold, False),
            (f"{fact}\n\nAnswer: **{'YES' if yes else 'NO'}**", gold, True),
            (f"My answer: {'yes' if yes else 'no'}. {fact}", gold, True),
            (f"{fact} Therefore: {'yes' if yes else 'no'}!", gold, False),
            (f"{'Yes, it is true.' if yes else 'No, that is false.'} {fact}", gold, False),
        )
    )
    yield Case("yes_no", "held-out 2: yes/no", form, label, marker, "yes_no")


def span2(doc: dict, rng: random.Random) -> Iterable[Case]:
    gold = str(doc["answers"][0])
    form, marker = rng.choice(
        (
            (f"The answer is {gold}, because the passage says so.", True),
            (f"\\boxed{{{gold}}}", True),
            (f"{gold} is the answer.", True),
            (f"Answer: {gold}\nReason: it is stated in the second paragraph.", True),
            (f'The correct answer is "{gold}".', True),
            (f"**Answer**\n{gold}", True),
            (f"The answer is: {gold}.\n\nLet me know if you have more questions! 😊", True),
            (f"{gold} — that's my final answer.", False),
        )
    )
    yield Case("span", "held-out 2: span", form, gold, marker, "span", {"answers": doc["answers"]})


# --------------------------------------------------------------------------- third held-out batch
# GSM-Plus critical thinking and numbers next to "none", written after the second batch's fixes.
def unanswerable3(doc: dict, rng: random.Random) -> Iterable[Case]:
    form, label, marker = rng.choice(
        (
            ("The question doesn't tell us how many were sold, so we can't find the total.", "None", False),
            ("**Answer:** Not enough information is given.", "None", True),
            ("Since we don't know the price of each item, this problem has no solution.", "None", False),
            ("The answer is: It is impossible to say without knowing the original amount.", "None", True),
            ("We would need to know the number of days. Without it, the total is undetermined.", "None", False),
            ("Final answer: The problem is missing a key number, so it cannot be answered.", "None", True),
            ("The answer is: None of the above; there isn't enough data to compute it.", "None", True),
            ("Final answer: N/A (the question lacks the needed information)", "None", True),
        )
    )
    numbers = ", ".join(str(n) for n in question_numbers(doc["question"])[:3])
    reply = f"We are given {numbers}.\n{form}" if numbers else form
    yield Case("numeric", "held-out 3: cannot be answered", reply, label, marker, "number_or_none")


def none_mention3(doc: dict, rng: random.Random) -> Iterable[Case]:
    g = int(float(doc["answers"][0]))
    form, marker = rng.choice(
        (
            (f"No information is missing here. The answer is {g}.", True),
            (f"Nothing is unknown: every number is given, so the total is {g}.", False),
            (f"None of the cookies were eaten, so she still has all {g}.\n**Answer:** {g}", True),
            (f"The answer is: {g}. (No data is missing.)", True),
        )
    )
    yield Case("numeric", "held-out 3: number with 'none' elsewhere", form, num(g), marker, "number_or_none")
