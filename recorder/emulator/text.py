"""Generated text: plausible prose and code, every kind of Unicode, and multi-megabyte tool output.

Everything is drawn from a ``random.Random`` the caller seeds, so the same seed gives the same text.
"""

from __future__ import annotations

import random

_WORD_TEXT = (
    "the a an of to in for on with by from as at build test deploy check parse render query index cache report "
    "session event stream thread agent model token budget file module function class config schema migration "
    "retry timeout cursor page filter order latency error result value input output request response server client "
    "repository branch commit review patch diff merge release version install package dependency lint format "
    "quickly carefully again first next then finally because although however therefore meanwhile instead"
)
WORDS = tuple(_WORD_TEXT.split())

SENTENCES = (
    "I'll start by looking at the repository layout.",
    "The failing test is in the ingest module; let me read it.",
    "That timeout comes from a per-chunk read deadline, not a wall-clock one.",
    "Here is a summary of what changed and why.",
    "I couldn't reproduce the flake locally, so I added more logging.",
    "Running the full suite now.",
    "The migration is reversible; I checked both directions.",
    "Let me ask the research agent to look up the API limits.",
)

# Every kind of text that breaks naive code: astral-plane emoji and ZWJ sequences, flags, skin tones, right-to-left
# scripts with bidi controls, combining marks, CJK, math alphanumerics, BOM and zero-width characters, Unicode line
# separators, C0/C1 controls, NUL, a noncharacter and a lone surrogate (legal in JSON as "\ud800", not in UTF-8).
UNICODE_TORTURE = (
    "Astral: 😀🚀🧪 𝕳𝖊𝖑𝖑𝖔 𝐀𝐁𝐂 𓀀 🀄 | ZWJ: 👨‍👩‍👧‍👦 🧑🏽‍💻 🏳️‍🌈 | flags: 🇺🇳🇯🇵🇧🇷 | "
    "RTL: שלום עולם — مرحبا بالعالم — \u202eOVERRIDE\u202c — \u2067isolate\u2069 | "
    "combining: e\u0301 n\u0303 a\u0308\u0323 Z\u0351\u0352\u0353\u0354\u0355a\u0356\u0357l\u0358g\u0359o | "
    "CJK: 漢字かなカナ한국어 | Indic: हिन्दी தமிழ் | Thai: ภาษาไทย | "
    "invisible: [\ufeff][\u200b][\u200c][\u200d][\u2060][\u00ad] | "
    "separators: a\u2028b\u2029c\u0085d | controls: \x07\x1b[31mred\x1b[0m\x7f\x9b | "
    "NUL: [\u0000] | noncharacter: [\uffff] | lone surrogate: [\ud800] | "
    "quotes: \"double\" 'single' `back` \\backslash\\ </script> <!-- --> ${x} %s {0} | end"
)


def sentence(r: random.Random, words: int = 12) -> str:
    """One sentence of plausible filler words."""
    picked = [r.choice(WORDS) for _ in range(max(3, words))]
    return picked[0].capitalize() + " " + " ".join(picked[1:]) + "."


def paragraph(r: random.Random, sentences: int = 3) -> str:
    """A few sentences, one of them a canned realistic one."""
    parts = [sentence(r, r.randint(6, 18)) for _ in range(max(1, sentences))]
    parts.insert(r.randrange(len(parts) + 1), r.choice(SENTENCES))
    return " ".join(parts)


def command_output(r: random.Random, lines: int = 8) -> str:
    """Something that looks like a shell command's output."""
    out = []
    for n in range(lines):
        kind = r.random()
        if kind < 0.3:
            out.append(f"tests/test_{r.choice(WORDS)}.py::test_{r.choice(WORDS)}_{n} PASSED")
        elif kind < 0.5:
            out.append(f"{r.randint(1, 999):>4} {r.choice(WORDS)}/{r.choice(WORDS)}.py")
        elif kind < 0.7:
            ext = r.choice(["py", "md"])
            out.append(f"-rw-r--r-- 1 agent agent {r.randint(100, 99999):>6} {r.choice(WORDS)}.{ext}")
        else:
            out.append(sentence(r, r.randint(4, 10)))
    return "\n".join(out)


def big_blob(r: random.Random, size: int) -> str:
    """About ``size`` characters of log-like lines (fast: a block of random lines repeated with line numbers)."""
    block = [command_output(r, 1) for _ in range(256)]
    out: list[str] = []
    total = 0
    n = 0
    while total < size:
        line = f"{n:08d} {block[n % len(block)]}\n"
        out.append(line)
        total += len(line)
        n += 1
    return "".join(out)[:size]
