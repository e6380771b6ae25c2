"""Scripted replies for tests that build the scripted backend from config (llm.script=...)."""


def echo(request):
    content = request.messages[-1]["content"] if request.messages else request.prompt
    return f"echo: {content}"
