from harness_ext.model.parsing import parse_subquestions


def test_numbered_bulleted_and_q_forms():
    text = "1. How many apples?\n2) How many pears?\n- What is the total?\nQ4: Extra?"
    assert parse_subquestions(text) == ["How many apples?", "How many pears?", "What is the total?", "Extra?"]


def test_cap_and_dedupe_and_non_questions_dropped():
    text = "Sub-question 1: How old is Ann?\nShe is 5.\nSub-question 2: how old is ann?\n3. Who is Bob?"
    assert parse_subquestions(text, cap=3) == ["How old is Ann?", "Who is Bob?"]
    assert parse_subquestions("A?\nB?\nC?\nD?", cap=3) == ["A?", "B?", "C?"]


def test_no_decomposition_and_empty():
    assert parse_subquestions("No decomposition.") == []
    assert parse_subquestions("  no decomposition needed") == []
    assert parse_subquestions("") == []
    assert parse_subquestions("The answer is 4.") == []


def test_trailing_answer_cut_and_inline_numbering_split():
    assert parse_subquestions("1. How many cows? 12 cows") == ["How many cows?"]
    assert parse_subquestions("1. What is x? 2. What is y?") == ["What is x?", "What is y?"]
    assert parse_subquestions("* Step 1: What is the cost per item?") == ["What is the cost per item?"]
