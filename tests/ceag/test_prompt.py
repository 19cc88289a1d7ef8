"""The compact synthesis prompt."""

from __future__ import annotations

from cacheback import Candidate
from cacheback.ceag import NO_ANSWER, PromptLimits, SynthesisRequest, build_prompt, estimate_tokens


def test_prompt_holds_pairs_context_and_question_within_caps() -> None:
    sources = [Candidate(entry_id=i, query=f"question {i}", response="word " * 400, similarity=0.85)
               for i in range(3)]
    context = [("user", f"turn {i} " + "x" * 1000) for i in range(8)]
    request = SynthesisRequest("the new question?", sources, context, "gpt-4o")
    limits = PromptLimits(answer_chars=300, turn_chars=50, context_turns=2, max_tokens=256)
    prompt = build_prompt(request, limits)
    assert NO_ANSWER in prompt.system
    assert "[1] Q: question 0" in prompt.user and "[3] Q: question 2" in prompt.user
    assert "turn 6" in prompt.user and "turn 7" in prompt.user and "turn 5" not in prompt.user
    assert prompt.user.rstrip().endswith("Question: the new question?")
    assert len(prompt.user) < 3 * 300 + 2 * 60 + 200
    assert prompt.max_tokens == 256


def test_answer_cap_follows_the_longest_source() -> None:
    short = [Candidate(entry_id=1, query="q", response="a" * 200, similarity=0.9)]
    prompt = build_prompt(SynthesisRequest("q?", short), PromptLimits(min_tokens=10, answer_growth=1.5))
    assert prompt.max_tokens == round(estimate_tokens("a" * 200) * 1.5)
