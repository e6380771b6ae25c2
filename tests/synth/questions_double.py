"""Scripted LLM replies for the Step 1 tests: each prompt kind gets a reply in a realistic wrapper."""

import re


def reply(request):
    if request.prompt is not None:  # MAGPIE prefill: raw prefix, n samples
        return [f" reverse a string number {i}." for i in range(request.n)]
    text = request.messages[-1]["content"]
    if "rate the quality of the code-related query" in text:
        quality = "poor" if "why is my code slow" in text else "excellent"
        return '```json\n{"explanation": "clear", "input_quality": "%s"}\n```' % quality
    if "Please label the task tags for the user query" in text:
        tag = "Documentation" if "Explain the difference" in text else "Algorithm Implementation"
        return 'Sure! {"primary_tag": "%s", "other_tags": []}' % tag
    if "## Documentation of" in text:
        package = re.search(r"## Documentation of (\S+)", text).group(1)
        if package == "bisect":
            return "<|Analysis Begin|>Too thin.<|Analysis End|>\n<|Question Begin|>\nBAD_DOCUMENT\n<|Question End|>"
        return (f"<|Analysis Begin|>It documents {package}.<|Analysis End|>\n<|Question Begin|>\n"
                f"Write a function using {package} that pairs neighbours.\n<|Question End|>")
    if "## Snippet" in text:
        name = "binary search" if "binary_search" in text else "structure"
        return (f"<|Analysis Begin|>\nA {name}.\n<|Analysis End|>\n<|Question Begin|>\n"
                f"Implement a {name} variant that returns the first index.\n<|Question End|>")
    n = len(re.findall(r"^\[Question \d+\]:", text, re.M))
    return f"### New Coding Assessment Question\n**[Question {n}]:** Given a list, return a new question about {n - 1} seeds."
