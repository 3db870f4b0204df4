"""Numbers in model replies: exact values, scientific notation, expressions, LaTeX wrappers.

Values are exact fractions so 3.50 == 3.5 and 1/2 == 0.5; scientific notation ("2.0107e-06",
"2.0107 × 10^-6") is read exactly too, because GSM-Hard writes 26 of its golds that way.
"""

from __future__ import annotations

import ast
import operator
import re
from fractions import Fraction

# A number: optional sign (not when glued to a preceding digit, so "5-3" is not "-3"),
# thousands groups "1,450,000" or plain digits, optional decimals, optional exponent
# ("e-06", " × 10^-6", "*10^{7}"), optional "/denominator".
_NUMBER = re.compile(
    r"(?<![\d.])(?P<sign>[-−])?"
    r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)?(?P<dec>\.\d+)?"
    r"(?:(?:[eE](?P<exp>[-+−]?\d+))|(?:\s?[×x*]\s?10\s?\^\s?\{?(?P<pow>[-+−]?\d+)\}?))?"
    r"(?:\s?/\s?(?P<den>\d+)(?![\d.]))?"
)
# LaTeX / markdown wrappers small models put around the answer.
_FRAC = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_WRAPPERS = re.compile(r"\\boxed\{|\\text\{|\\textbf\{|\\mathbf\{|\\\(|\\\)|\\\[|\\\]|\*\*|__|`")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}


def unwrap(text: str) -> str:
    """Drop LaTeX/markdown wrappers: "**$\\boxed{18}$**" -> "$18$", "\\frac{1}{2}" -> "1/2"."""
    text = _FRAC.sub(r"\1/\2", text or "")
    return _WRAPPERS.sub(" ", text).replace("}", " ").replace("\\$", "$").replace("\\%", "%")


def _value(m: re.Match[str]) -> Fraction:
    value = Fraction((m.group("int") or "0").replace(",", "") + (m.group("dec") or ""))
    exponent = m.group("exp") or m.group("pow")
    if exponent and abs(int(exponent.replace("−", "-"))) <= 300:  # bounded: no 1e999999 blow-up
        value *= Fraction(10) ** int(exponent.replace("−", "-"))
    if m.group("den") and int(m.group("den")) != 0:
        value /= int(m.group("den"))
    return -value if m.group("sign") else value


def number_matches(text: str) -> list[re.Match[str]]:
    """Matches of real numbers in ``text`` (the pattern also matches empty strings and signs)."""
    return [m for m in _NUMBER.finditer(text or "") if m.group("int") or m.group("dec")]


def find_numbers(text: str) -> list[Fraction]:
    """All numbers in ``text`` in order, as exact fractions."""
    return [_value(m) for m in number_matches(text)]


def parse_number(token: str) -> Fraction | None:
    """Exact value of one number token ("1,234.50", "-3", "1/2", "$5", "2.01e-06"), else None."""
    found = find_numbers(unwrap(token))
    return found[0] if len(found) == 1 else None


# An arithmetic run at the start of an answer line: "16 + 2 = 18", "$3 × 4 = $12", "5 (eggs)".
_RUN = re.compile(r"[\s$€£%\d.,+\-−*/×÷x^eE()=]*")


def leading_value(segment: str) -> Fraction | None:
    """The number an answer line states: the result of a leading expression ("16 + 2 = 18" ->
    18, "16 + 2" -> 18), else its first number ("18 eggs" -> 18)."""
    text = unwrap(segment).lstrip(" :*$\t")
    first = number_matches(text)
    if not first or text[: first[0].start()].strip("( "):  # "(2 + 3) * 6" starts an expression
        return None
    run = _RUN.match(text)
    expression = run.group(0) if run else ""
    if "=" in expression:
        after = find_numbers(expression.rsplit("=", 1)[1])
        return after[0] if after else _value(first[0])
    return _evaluate(expression) or _value(first[0])


def _evaluate(expression: str) -> Fraction | None:
    """Exact value of a +-*/ expression of plain numbers, or None when it is not one."""
    matches = number_matches(expression)
    if len(matches) < 2:
        return None
    parts, last = [], 0
    for i, m in enumerate(matches):
        parts.append(expression[last : m.start()])
        parts.append(f"_n[{i}]")
        last = m.end()
    source = "".join(parts) + expression[last:]
    source = source.translate(str.maketrans("×x÷−$%", "**/-  "))
    source = source.strip().rstrip(".,").strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    values = [_value(m) for m in matches]
    return _walk(tree, values)


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
        return _OPS[type(node.op)](left, right)
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
