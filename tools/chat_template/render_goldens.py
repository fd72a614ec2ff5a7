#!/usr/bin/env python3
"""Writes the chat-template golden files that align4j's tokenizer tests read.

Renders templates exactly as Hugging Face transformers' apply_chat_template does
(transformers/utils/chat_template_utils.py): jinja2 ImmutableSandboxedEnvironment with
trim_blocks=True, lstrip_blocks=True, the loopcontrols extension and transformers'
{% generation %} tag, a tojson filter that is json.dumps(ensure_ascii=False, ...), the
raise_exception and strftime_now globals, and the variables messages, tools (None when
absent), documents (None), add_generation_prompt, the tokenizer's special tokens and any
extra keyword arguments.

Run with Debian's python3 (its jinja2 3.1.x):
    /usr/bin/python3 tools/chat_template/render_goldens.py [path/to/shared]
Outputs (committed; CI only reads them):
    src/test/resources/tokenizer/qwen3_chat_goldens.json   the real Qwen3 template
    src/test/resources/tokenizer/jinja_engine_goldens.json small templates, one feature each
"""
import json
import os
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(ROOT), "shared")
OUT_DIR = os.path.join(ROOT, "src", "test", "resources", "tokenizer")


class AssistantTracker(Extension):
    """transformers' {% generation %}...{% endgeneration %} tag; renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_generation_support"), [], [], body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def compile_template(source):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[AssistantTracker, jinja2.ext.loopcontrols]
    )
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env.from_string(source)


def render_chat(template, special_tokens, messages, tools=None, add_generation_prompt=False, extra=None):
    # transformers: template.render(messages=..., tools=..., documents=..., add_generation_prompt=...,
    #               **special_tokens_map, **kwargs)
    kwargs = dict(special_tokens)
    kwargs.update(extra or {})
    return template.render(
        messages=messages, tools=tools, documents=None, add_generation_prompt=add_generation_prompt, **kwargs
    )


# ----------------------------------------------------------------------------------------------
# Qwen3

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city. Returns °C by default — “quoted” text.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name, e.g. Zürich or 東京"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1},
            },
            "required": ["city"],
        },
    },
}
CALC_TOOL = {
    "type": "function",
    "function": {
        "name": "calculate",
        "description": "Evaluate an arithmetic expression.",
        "parameters": {
            "type": "object",
            "properties": {"expression": {"type": "string"}, "precision": {"type": "number"}},
            "required": ["expression"],
        },
    },
}


def qwen3_cases():
    S = {"role": "system", "content": "You are a helpful assistant."}
    U1 = {"role": "user", "content": "Hi there"}
    A1 = {"role": "assistant", "content": "Hello! How can I help you today?"}
    U2 = {"role": "user", "content": "What is 2+2?"}
    A2_THINK = {"role": "assistant", "content": "<think>\nThe user asks 2+2. That is 4.\n</think>\n\nIt is 4."}
    U3 = {"role": "user", "content": "And 3+3?"}
    A3_THINK = {"role": "assistant", "content": "<think>\n3+3 is 6.\n</think>\n\n6."}
    call_weather = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}
        ],
    }
    cases = [
        ("system_user_generation_prompt", [S, U1], None, True, {}),
        ("user_only_no_generation_prompt", [U1], None, False, {}),
        ("user_only_generation_prompt", [U1], None, True, {}),
        ("multi_turn_user_assistant_user", [S, U1, A1, U2], None, True, {}),
        ("multi_turn_ends_with_assistant", [U1, A1, U2, {"role": "assistant", "content": "4"}], None, False, {}),
        ("think_in_last_assistant_turn", [U2, A2_THINK], None, False, {}),
        ("think_in_last_assistant_turn_generation_prompt", [U2, A2_THINK], None, True, {}),
        ("think_in_earlier_turns_dropped", [S, U2, A2_THINK, U3, A3_THINK, {"role": "user", "content": "Thanks"}], None, True, {}),
        ("think_in_earlier_and_last_turn", [U2, A2_THINK, U3, A3_THINK], None, False, {}),
        ("think_without_newlines", [U2, {"role": "assistant", "content": "<think>short</think>answer"}], None, False, {}),
        ("reasoning_content_field", [U2, {"role": "assistant", "content": "It is 4.", "reasoning_content": "\n2+2=4\n"}], None, False, {}),
        ("reasoning_content_none_falls_back_to_tags", [U2, {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "reasoning_content": None}], None, False, {}),
        ("assistant_without_think_last_turn", [U1, A1], None, False, {}),
        ("enable_thinking_false", [S, U1], None, True, {"enable_thinking": False}),
        ("enable_thinking_true", [S, U1], None, True, {"enable_thinking": True}),
        ("enable_thinking_false_no_generation_prompt", [U1], None, False, {"enable_thinking": False}),
        ("tools_with_system", [S, {"role": "user", "content": "Weather in Paris?"}], [WEATHER_TOOL, CALC_TOOL], True, {}),
        ("tools_without_system", [{"role": "user", "content": "Weather in Paris?"}], [WEATHER_TOOL], True, {}),
        ("empty_tools_list_is_no_tools", [S, U1], [], True, {}),
        (
            "tool_call_and_responses",
            [
                S,
                {"role": "user", "content": "Weather in Paris and 2*21?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}},
                        {"type": "function", "function": {"name": "calculate", "arguments": {"expression": "2*21", "precision": 0.5}}},
                    ],
                },
                {"role": "tool", "content": '{"temperature": 21.5, "condition": "sunny"}'},
                {"role": "tool", "content": "42"},
                {"role": "assistant", "content": "It is 21.5 °C and sunny in Paris; 2*21 = 42."},
            ],
            [WEATHER_TOOL, CALC_TOOL],
            False,
            {},
        ),
        (
            "tool_call_with_content_and_string_arguments",
            [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": "Let me check.",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Berlin"}'}}],
                },
                {"role": "tool", "content": "cloudy"},
            ],
            [WEATHER_TOOL],
            True,
            {},
        ),
        (
            "tool_call_without_function_wrapper",
            [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {"city": "Rome", "days": 3}}]},
                {"role": "tool", "content": "rain"},
            ],
            [WEATHER_TOOL],
            True,
            {},
        ),
        (
            "multi_step_tool_with_thinking",
            [
                {"role": "user", "content": "Plan my day in Oslo."},
                {
                    "role": "assistant",
                    "content": "<think>\nNeed weather first.\n</think>\n\n",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}],
                },
                {"role": "tool", "content": "snow, -3"},
                {
                    "role": "assistant",
                    "content": "<think>\nCold. Check tomorrow too.\n</think>\n\nChecking tomorrow.",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}}],
                },
                {"role": "tool", "content": "<tool_response>nested</tool_response>"},
                {"role": "assistant", "content": "<think>\nDone.\n</think>\n\nDress warmly."},
            ],
            [WEATHER_TOOL],
            False,
            {},
        ),
        (
            "user_message_that_looks_like_tool_response",
            [
                {"role": "user", "content": "Question"},
                {"role": "assistant", "content": "<think>\nt1\n</think>\n\na1"},
                {"role": "user", "content": "<tool_response>\nresult\n</tool_response>"},
                {"role": "assistant", "content": "<think>\nt2\n</think>\n\na2"},
            ],
            None,
            False,
            {},
        ),
        ("system_message_not_first", [U1, A1, {"role": "system", "content": "Be brief."}, U2], None, True, {}),
        (
            "assistant_content_false_string_with_tool_calls",
            [{"role": "user", "content": "Is it raining?"}, dict(call_weather, content="False")],
            [WEATHER_TOOL],
            False,
            {},
        ),
        ("empty_contents", [{"role": "system", "content": ""}, {"role": "user", "content": ""}, {"role": "assistant", "content": ""}], None, False, {}),
        (
            "unicode_and_newlines",
            [
                {"role": "system", "content": "Réponds en français.\n\tIndent, “quotes”, 'single' and \"double\"."},
                {"role": "user", "content": "東京の天気は？ 🌧️ Emoji 👩‍👩‍👧 and\r\nCRLF\n\n\nthree newlines\\n literal"},
                {"role": "assistant", "content": "<think>\n考える… 🤔\n\n</think>\n\n\n晴れです ☀️\n"},
                {"role": "user", "content": "Ünïcödé — ok?"},
            ],
            None,
            True,
            {},
        ),
        (
            "tool_arguments_json_types",
            [
                {"role": "user", "content": "Types"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "type": "function",
                            "function": {
                                "name": "calculate",
                                "arguments": {
                                    "int": 42, "neg": -7, "float": 1.5, "whole_float": 2.0, "small": 1e-07, "big": 1e20,
                                    "pi": 3.141592653589793, "tenth": 0.1, "bool_t": True, "bool_f": False, "none": None,
                                    "list": [1, "two", [3.0, {"k": "v"}], []], "empty": {}, "unicode": "é東🌧\u0001\u007f",
                                    "escapes": "quote\" backslash\\ slash/ tab\t nl\n cr\r",
                                },
                            },
                        }
                    ],
                },
            ],
            [CALC_TOOL],
            False,
            {},
        ),
        (
            "extra_variables_passed_through",
            [U1],
            None,
            True,
            {"enable_thinking": False, "unused_flag": "ignored"},
        ),
    ]
    return cases


def write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", os.path.relpath(path, ROOT))


def qwen3_goldens():
    cfg_path = os.path.join(SHARED, "models", "qwen3-tokenizer", "tokenizer_config.json")
    with open(cfg_path, encoding="utf-8") as f:
        cfg = json.load(f)
    source = cfg["chat_template"]
    # transformers passes tokenizer.special_tokens_map: the set special tokens (None ones left out)
    special = {}
    for key in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"):
        v = cfg.get(key)
        if isinstance(v, dict):
            v = v.get("content")
        if v is not None:
            special[key] = v
    if cfg.get("additional_special_tokens"):
        special["additional_special_tokens"] = cfg["additional_special_tokens"]
    template = compile_template(source)
    out = []
    for name, messages, tools, agp, extra in qwen3_cases():
        expected = render_chat(template, special, messages, tools=tools, add_generation_prompt=agp, extra=extra)
        case = {"name": name, "messages": messages, "add_generation_prompt": agp, "extra": extra, "expected": expected}
        if tools is not None:
            case["tools"] = tools
        out.append(case)
    write(
        os.path.join(OUT_DIR, "qwen3_chat_goldens.json"),
        {
            "generator": "tools/chat_template/render_goldens.py",
            "jinja2_version": jinja2.__version__,
            "template": "shared/models/qwen3-tokenizer/tokenizer_config.json chat_template",
            "template_source": source,
            "special_tokens": special,
            "cases": out,
        },
    )


if __name__ == "__main__":
    qwen3_goldens()
