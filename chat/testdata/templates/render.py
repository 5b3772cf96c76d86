#!/usr/bin/env python3
"""Renders expected/TEMPLATE.CASE.txt (or .error) for every *.jinja and every
case of cases.json in this folder, with Python Jinja2 3.1 configured as
Hugging Face transformers renders chat templates (chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks, loopcontrols), its
tojson (json.dumps, ensure_ascii=False), raise_exception, strftime_now fixed
at 2026-11-28 12:00:00, tools=None when a case has none, and bos/eos strings
as the model defines them (Qwen: bos_token undefined, eos <|im_end|>).

Tool-call arguments given as a JSON string holding an object are decoded to
that object first, as qilin's chat.Input (and vLLM and llama.cpp) do; the
template iterates them with |items, which a string cannot do.

Run from this folder: python3 render.py
"""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.datetime(2026, 11, 28, 12, 0, 0).strftime(fmt)


def decode_arguments(messages):
    for m in messages:
        for tc in m.get("tool_calls") or []:
            f = tc.get("function", tc)
            a = f.get("arguments")
            if isinstance(a, str):
                try:
                    v = json.loads(a)
                except ValueError:
                    continue
                if isinstance(v, dict):
                    f["arguments"] = v


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    with open("cases.json", encoding="utf-8") as f:
        cases = json.load(f)
    os.makedirs("expected", exist_ok=True)
    for name in sorted(os.listdir(".")):
        if not name.endswith(".jinja"):
            continue
        with open(name, encoding="utf-8") as f:
            tmpl = env.from_string(f.read())
        base = name[: -len(".jinja")]
        for c in cases:
            messages = c["messages"]
            decode_arguments(messages)
            kwargs = dict(eos_token="<|im_end|>") if "qwen" in base.lower() else {}
            kwargs.update(c.get("kwargs") or {})
            out = os.path.join("expected", base + "." + c["name"])
            for ext in (".txt", ".error"):
                if os.path.exists(out + ext):
                    os.remove(out + ext)
            try:
                text = tmpl.render(messages=messages, tools=c.get("tools"), documents=None,
                                   add_generation_prompt=c.get("add_generation_prompt", True), **kwargs)
            except jinja2.exceptions.TemplateError as e:
                with open(out + ".error", "w", encoding="utf-8") as f:
                    f.write(str(e) + "\n")
                continue
            with open(out + ".txt", "w", encoding="utf-8", newline="") as f:
                f.write(text)
    print("jinja2", jinja2.__version__, file=sys.stderr)


if __name__ == "__main__":
    main()
