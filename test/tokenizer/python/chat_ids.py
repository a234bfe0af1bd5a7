"""The engine's token ids for chat and completions prompts, computed the way vLLM does with
Hugging Face's own stack: the chat template rendered by jinja2 with transformers' settings
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson, raise_exception),
then encoded by the Rust `tokenizers` without added special tokens; completions prompts encoded
with them. Written against transformers' apply_chat_template, not against infergate's code.

usage: chat_ids.py <tokenizer dir>   (stdin: JSON list of {"messages": [...], "vars": {...}?} or {"prompt": "..."};
stdout: JSON list of id lists)
"""
import json
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def token_text(v):
    if isinstance(v, dict):
        return v.get("content", "")
    return v or ""


def main():
    directory = sys.argv[1]
    tok = Tokenizer.from_file(f"{directory}/tokenizer.json")
    with open(f"{directory}/tokenizer_config.json", encoding="utf-8") as f:
        config = json.load(f)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(config["chat_template"])
    out = []
    for item in json.load(sys.stdin):
        if "messages" in item:
            variables = {
                "add_generation_prompt": True,
                "bos_token": token_text(config.get("bos_token")),
                "eos_token": token_text(config.get("eos_token")),
            }
            # the template's other variables (tools, documents, flags, chat_template_kwargs), as given
            variables.update(item.get("vars", {}))
            text = template.render(messages=item["messages"], **variables)
            out.append(tok.encode(text, add_special_tokens=False).ids)
        else:
            out.append(tok.encode(item["prompt"], add_special_tokens=True).ids)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
