"""Numbers in model replies: exact values, scientific notation, expressions, LaTeX wrappers.

Values are exact fractions so 3.50 == 3.5 and 1/2 == 0.5; scientific notation ("2.0107e-06",
"2.0107 × 10^-6") is read exactly too, because GSM-Hard writes 26 of its golds that way.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from fractions import Fraction

from dq_tasks.markers import first_sentence

# A number: optional sign (not when glued to a preceding digit, so "5-3" is not "-3"; a sign
# may be set apart by a currency symbol or a space: "-$1,234", "− 5"), thousands groups
# "1,450,000" or plain digits, optional decimals, optional exponent ("e-06", " × 10^-6",
# "*10^{7}"), optional "/denominator", optional scale word ("$1.5 million").
_NUMBER = re.compile(
    r"(?<![\d.])(?P<sign>[-−](?:[ \t]?[$€£][ \t]?|[ \t])?)?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)?(?P<dec>\.\d+)?"
    r"(?:(?:[eE](?P<exp>[-+−]?\d+))|(?:\s?[×x*]\s?10\s?\^\s?\{?(?P<pow>[-+−]?\d+)\}?))?"
    r"(?:\s?/\s?(?P<den>\d+)(?![\d.]))?"
    r"(?:[ \t](?P<scale>thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_MAX_DIGITS = 300
_MAX_BITS = 4000  # an expression's value stays printable (Python refuses str() past 4300 digits)
# LaTeX / markdown wrappers small models put around the answer.
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_WRAPPERS = re.compile(r"\\boxed\{|\\text\{|\\textbf\{|\\mathbf\{|\\\(|\\\)|\\\[|\\\]|\*\*|__|`")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def unwrap(text: str) -> str:
    """Drop LaTeX/markdown wrappers: "**$\\boxed{18}$**" -> "$18$", "\\frac{1}{2}" -> "1/2"."""
    text = _FRAC.sub(r"\1/\2", text or "")
    return _WRAPPERS.sub(" ", text).replace("}", " ").replace("\\$", "$").replace("\\%", "%")


@dataclass(frozen=True)
class Number:
    """One number in a text: where it starts and ends (sign included) and its exact value."""

    start: int
    end: int
    value: Fraction


def _value(m: re.Match[str], signed: bool) -> Fraction:
    value = Fraction((m.group("int") or "0").replace(",", "") + (m.group("dec") or ""))
    exponent = m.group("exp") or m.group("pow")
    if exponent and abs(int(exponent.replace("−", "-"))) <= 300:  # bounded: no 1e999999 blow-up
        value *= Fraction(10) ** int(exponent.replace("−", "-"))
    if m.group("den") and int(m.group("den")) != 0:
        value /= int(m.group("den"))
    if m.group("scale"):
        value *= _SCALES[m.group("scale").lower()]
    return -value if signed else value


def number_matches(text: str) -> list[Number]:
    """The real numbers in ``text`` (the pattern also matches empty strings and signs). A sign
    set apart from its digits after an operand ("5 - 3", "10 apples - $3") is the operator."""
    found = []
    for m in _NUMBER.finditer(text or ""):
        if not (m.group("int") or m.group("dec")) or len(m.group(0)) > _MAX_DIGITS:
            continue  # no number, or a run of digits no answer has (and int() refuses past 4300)
        sign = m.group("sign") or ""
        before = text[: m.start()].rstrip()
        binary = len(sign) > 1 and bool(before) and (before[-1].isalnum() or before[-1] in ")%]")
        start = m.start() + len(sign) if binary else m.start()
        found.append(Number(start, m.end(), _value(m, bool(sign) and not binary)))
    return found


def find_numbers(text: str) -> list[Fraction]:
    """All numbers in ``text`` in order, as exact fractions."""
    return [n.value for n in number_matches(text)]


def parse_number(token: str) -> Fraction | None:
    """Exact value of one number token ("1,234.50", "-3", "1/2", "$5", "2.01e-06"), else None."""
    found = find_numbers(unwrap(token))
    return found[0] if len(found) == 1 else None


# An arithmetic run at the start of an answer: "16 + 2 = 18", "$3 × 4 = $12", "(2 + 3) * 6".
_RUN = re.compile(r"[\s$€£%\d.,+\-−*/×÷x^eE()=]*")
# A parenthetical that explains rather than computes: "(since 10 / 2 = 5)", "(= 9 × 2)", "(eggs)".
_ASIDE = re.compile(r"\((?=[^()]*(?:[A-Za-z]{2}|=))[^()]*\)")
# What a "so ..." clause after an expression concludes: "48 / 2, so 24", "3 × 8, which is 24".
_SO = re.compile(
    r"\b(?:so|thus|hence|therefore|which\s+(?:is|equals|gives|makes)|that\s+is|giving|making|equals|gives)\b",
    re.IGNORECASE,
)


def stated_value(line: str) -> Fraction | None:
    """The number an answer line states, read to the end of its first sentence: the value the
    line concludes with. An expression counts by its result: its last "= value" ("16 + 2 = 18"
    -> 18), the number a "so ..." clause concludes ("48 / 2, so 24" -> 24), else its value
    ("16 + 2" -> 18); otherwise the first number ("18 eggs" -> 18)."""
    clause = _MIXED.sub(_mixed, _ASIDE.sub(" ", first_sentence(unwrap(line))))
    if clause.rstrip()[-1:] in tuple("+-−*/×÷("):  # cut off mid-expression: "Kai has 2 + " says
        left, _, right = clause.rpartition("=")  # nothing, "x = 5 +" neither; "9 * 2 = 18 +" says 18
        done = number_matches(right) if re.search(r"[+\-−*/×÷^]", left) and number_matches(left) else []
        clause = f"{left}={right[: done[0].end]}" if done else ""
    numbers = number_matches(clause)
    if not numbers:
        return word_value(clause)
    led_by_number = leads_with_number(clause)
    if "=" in clause:
        left, right = clause.rsplit("=", 1)
        after = number_matches(right)
        if after:
            return _either(_evaluate(_leading_run(right)), after[0].value)
        return _either(_evaluate(_leading_run(left.rsplit("=", 1)[-1])), number_matches(left)[-1].value)
    run = _leading_run(clause) if led_by_number else ""
    if len(number_matches(run)) >= 2:
        so = list(_SO.finditer(clause, len(run.rstrip(" ,"))))
        concluded = number_matches(clause[so[-1].end() :]) if so else []
        return concluded[0].value if concluded else _either(_evaluate(run), numbers[0].value)
    return numbers[0].value


# A mixed number, "2 1/2" (a proper fraction after a whole number), is one value.
_MIXED = re.compile(r"(?<![\d.,/])(\d{1,3})[ \t]+(\d{1,2})[ \t]?/[ \t]?(\d{1,2})(?![\d.,/])")


def _mixed(m: re.Match[str]) -> str:
    whole, num, den = (int(g) for g in m.groups())
    return canonical(whole + Fraction(num, den)) if 0 < num < den else m.group(0)


_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD = re.compile(r"[a-z]+")
_PRONOUN_ONE = re.compile(r"\b(?:the|this|that|which|each|every|any|no|another)\s+one\b|\bone\s+(?:of|who|that|with)\b")


def word_value(clause: str) -> Fraction | None:
    """A number written in words, the first run of them in the clause ("twelve", "twenty-five",
    "one hundred and five"); None when there is none."""
    total = current = 0
    seen = False
    clause = _PRONOUN_ONE.sub(" ", clause.lower())  # "the one with more" is no number
    for word in _WORD.findall(clause.replace("-", " ")):
        if word in _UNITS:
            current += _UNITS.index(word)
        elif word in _TENS:
            current += 10 * (_TENS.index(word) + 2)
        elif word == "hundred" and seen:
            current *= 100
        elif word in _SCALES and seen:
            total, current = total + current * _SCALES[word], 0
        elif word == "and" and seen:
            continue
        elif seen:
            break
        else:
            continue
        seen = True
    return Fraction(total + current) if seen else None


def leads_with_number(line: str) -> bool:
    """Whether an answer line starts with its number ("18 eggs", "$-5", "(2 + 3) * 6")."""
    clause = first_sentence(unwrap(line))
    numbers = number_matches(clause)
    return bool(numbers) and not clause[: numbers[0].start].strip(" :*\t$€£(")


def _either(value: Fraction | None, fallback: Fraction) -> Fraction:
    return fallback if value is None else value


def _leading_run(text: str) -> str:
    stripped = text.lstrip(" :*\t")
    run = _RUN.match(stripped)
    return run.group(0) if run else ""


def _evaluate(expression: str) -> Fraction | None:
    """Exact value of a +-*/ expression of plain numbers, or None when it is not one."""
    matches = number_matches(expression)
    if len(matches) < 2:
        return None
    parts, last = [], 0
    for i, m in enumerate(matches):
        parts.append(expression[last : m.start])
        parts.append(f"_n[{i}]")
        last = m.end
    source = "".join(parts) + expression[last:]
    source = source.translate(str.maketrans("×x÷−$%", "**/-  "))
    source = source.strip().rstrip(".,").strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    return _walk(tree, [m.value for m in matches])


def _walk(node: ast.AST, values: list[Fraction]) -> Fraction | None:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        index = node.slice.value
        return values[index] if isinstance(index, int) and 0 <= index < len(values) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _walk(node.operand, values)
        return None if inner is None else -inner
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _walk(node.left, values), _walk(node.right, values)
        if left is None or right is None or (isinstance(node.op, ast.Div) and right == 0):
            return None
        value = _OPS[type(node.op)](left, right)
        return value if max(value.numerator.bit_length(), value.denominator.bit_length()) <= _MAX_BITS else None
    return None


def canonical(value: Fraction) -> str:
    """A readable exact form for lm-eval's filtered responses: "18", "3.5", "1/3"."""
    if value.denominator == 1:
        return str(value.numerator)
    digits = 0
    while (value * 10**digits).denominator != 1 and digits < 30:
        digits += 1
    if (value * 10**digits).denominator == 1:
        scaled = int(abs(value) * 10**digits)
        sign = "-" if value < 0 else ""
        whole, frac = divmod(scaled, 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d}".rstrip("0")
    return f"{value.numerator}/{value.denominator}"
