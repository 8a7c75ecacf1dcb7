"""The docs are promises a reader copies: every harness command they show must be one the real
argument parser accepts, every `make` target one the Makefile has, and every relative link must
reach its file and heading.

What counts as a command, and how its notation is read (the convention the docs follow):

- a line of a fenced code block, or an inline code span, that starts with `harness`,
  `python -m harness`, a path ending in `/harness` or `/python -m harness` (`.venv/bin/harness`),
  or a shell variable set to such a path in the same block (`H=~/gorust/.venv/bin/harness`, then
  `$H`); continuation lines are joined, `# comments` dropped, `time` and `VAR=value` prefixes
  skipped, and pipes, `&&`, `;` and redirections end the harness part;
- `<run-id>`, `<base sha>`: angle-bracket placeholders, replaced by a sample value;
- in a synopsis (the tables of docs/commands.md), `[...]` is an optional group and `a|b` (no
  spaces; `\\|` in a table) are alternatives: the command is parsed without its optional groups, and
  with all of them once per alternative; UPPERCASE words are metavariables, replaced by the sample
  value in METAVARS (an unknown one fails, naming it);
- options are spelled out: the parser is used with abbreviations off (`--workload` fails);
- `…` or `...` standing alone elides arguments and is dropped; a span that is only `harness
  COMMAND` (a mention, "`harness ab` measures …") checks that COMMAND exists, and one that is
  `harness COMMAND --option` with the option's value left out checks that the option exists.

Links: `[text](path)` and `[text](path#anchor)` outside code resolve against the file's folder; an
anchor must match a heading of the target by GitHub's rules (lower case, punctuation but `-` and `_`
removed, spaces to `-`, repeats suffixed `-1`, `-2`) or an explicit `<a id="…">`.

examples/github-actions.yml is checked by tests/cli/test_examples.py the same way."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.cli.parser import COMMANDS, parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        ROOT / "workloads" / "README.md",
        *(ROOT / "workloads" / "docs").glob("*.md"),
        ROOT / "tools" / "README.md",
    ]
)
SHELL_LANGS = {"", "sh", "bash", "shell", "console"}

# Sample values for the metavariables the synopses use.
METAVARS = {
    "NAME": "word-count",
    "DIR": "bench",
    "RESULTS": "latest",
    "BASE": "latest",
    "A": "latest",
    "B": "latest",
    "HEAD": "latest",
    "BASE_REF": "origin/main",
    "RUN": "latest",
    "FILE": "config/team.example.toml",
    "N": "3",
    "S": "5",
    "US": "250",
    "PCT": "2",
    "RPS": "2000",
    "CPUS": "1",
    "V": "1",
    "V1": "1",
    "V2": "2",
    "REF": "main",
    "METRIC": "wall_seconds",
}
PLACEHOLDER = "sample"
COMMAND_NAMES = {c.__name__.rsplit(".", 1)[-1] for c in COMMANDS}


@dataclass(frozen=True)
class Shown:
    """A command as a doc shows it: where, and its text with continuations joined."""

    doc: Path
    line: int
    text: str
    inline: bool

    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}: {self.text}"


def blank_fences(text: str) -> tuple[str, list[tuple[int, str, list[str]]]]:
    """The text with fenced blocks blanked (line count kept), and each block: first line, lang,
    lines."""
    out, blocks, block = [], [], None
    for number, line in enumerate(text.split("\n"), start=1):
        fence = re.match(r"\s*(```+|~~~+)\s*(\S*)", line)
        if block is None and fence:
            block = (number + 1, fence.group(2).lower(), [])
            out.append("")
        elif block is not None and fence and not fence.group(2):
            blocks.append(block)
            block = None
            out.append("")
        elif block is not None:
            block[2].append(line)
            out.append("")
        else:
            out.append(line)
    return "\n".join(out), blocks


def inline_spans(prose: str) -> Iterator[tuple[int, str]]:
    """Inline code spans (which may wrap lines, never paragraphs), with their first line."""
    for m in re.finditer(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", prose, re.S):
        if "\n\n" in m.group(2):
            continue
        yield prose.count("\n", 0, m.start()) + 1, " ".join(m.group(2).split())


def shown_commands(doc: Path) -> Iterator[Shown]:
    prose, blocks = blank_fences(doc.read_text())
    for first, lang, block in blocks:
        if lang not in SHELL_LANGS:
            continue
        number, pending = first, ""
        for offset, line in enumerate(block):
            if not pending:
                number = first + offset
            if line.rstrip().endswith("\\"):
                pending += line.rstrip()[:-1] + " "
                continue
            yield Shown(doc, number, (pending + line).strip(), inline=False)
            pending = ""
    for number, span in inline_spans(prose):
        yield Shown(doc, number, span.replace("\\|", "|"), inline=True)


HARNESS = re.compile(r"^(harness|\S*/harness|(\S*/)?python3?\s+-m\s+harness)(?=\s|$)")


def harness_argv(shown: Shown, harness_vars: set[str]) -> list[str] | None:
    """The words after the harness in one shell command line, or None if it runs no harness."""
    text = re.sub(r"<[A-Za-z][^<>]*>", PLACEHOLDER, shown.text)  # <run-id>, <base sha>
    # Pipes, &&, ; and || end a command; a | inside a word is a synopsis's alternatives.
    for part in re.split(r"\s(?:\|\||&&|\||;)\s|;\s*$", text):
        try:
            words = shlex.split(part, comments=True)
        except ValueError:
            words = part.split()
        while words and (words[0] == "time" or re.fullmatch(r"[A-Za-z_]\w*=\S*", words[0])):
            words = words[1:]
        if not words:
            continue
        head = " ".join(words[:3])
        matched = HARNESS.match(head)
        if matched:
            return words[len(matched.group(1).split()) :]
        if words[0].lstrip("$").strip("{}") in harness_vars and words[0].startswith("$"):
            return words[1:]
    return None


def without_redirections(words: list[str]) -> list[str]:
    kept, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif re.fullmatch(r"\d*[<>]{1,2}&?\d*", word):
            skip = not re.fullmatch(r"\d*>&\d+", word)
        elif re.match(r"\d*[<>]{1,2}\S", word):
            continue
        else:
            kept.append(word)
    return kept


def synopsis_variants(words: list[str]) -> list[list[str]]:
    """Every argv a synopsis stands for (module docstring): no optional groups, then all of them
    with each alternative."""
    text = " ".join(words)
    groups = re.findall(r"(?<!\S)\[([^\[\]]*)\]", text)
    bare = re.sub(r"(?<!\S)\[[^\[\]]*\]", " ", text).split()
    full = re.sub(r"(?<!\S)\[([^\[\]]*)\]", r"\1", text).split()
    if not groups and not any("|" in w for w in full):
        return [full]
    alternatives = [w.split("|") if "|" in w else [w] for w in full]
    widest = max(len(a) for a in alternatives)
    variants = [[a[min(k, len(a) - 1)] for a in alternatives] for k in range(widest)]
    return [[a[0] for a in (w.split("|") for w in bare)], *variants]


def substituted(words: list[str]) -> list[str]:
    out = []
    for word in words:
        if word in ("…", "..."):
            continue
        key, eq, value = word.partition("=")
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", word) and word not in ("GOGC", "GOMEMLIMIT"):
            if word not in METAVARS:
                raise KeyError(f"metavariable {word} has no sample value in METAVARS")
            word = METAVARS[word]
        elif eq and re.fullmatch(r"[A-Z][A-Z0-9_]*", value) and value in METAVARS:
            word = f"{key}={METAVARS[value]}"
        out.append(word)
    return out


def strict_parser() -> argparse.ArgumentParser:
    """The real parser, with abbreviations off: argparse would take `--workload` for
    `--workloads`, and a doc should spell out the option the help lists."""
    p = parser()
    p.allow_abbrev = False
    for action in p._subparsers._group_actions:
        for sub in action.choices.values():
            sub.allow_abbrev = False
    return p


def parse_error(argv: list[str]) -> str | None:
    """The parser's complaint about argv, or None when it accepts it."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            strict_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code not in (0, None):
            return err.getvalue().strip().splitlines()[-1] if err.getvalue() else str(exc)
    return None


def naming_an_option(shown: Shown, argv: list[str], error: str) -> bool:
    """`harness export --format` in prose names an option, its value left out: the option must
    exist, nothing more."""
    return (
        shown.inline
        and len(argv) == 2
        and argv[1].startswith("--")
        and error.endswith("expected one argument")
    )


def command_problems(doc: Path) -> list[str]:
    problems, harness_vars = [], set()
    for shown in shown_commands(doc):
        assign = re.match(r"([A-Za-z_]\w*)=(\S*/harness)(\s|$)", shown.text)
        if assign and not shown.inline:
            harness_vars.add(assign.group(1))
            continue
        argv = harness_argv(shown, harness_vars)
        if argv is None:
            continue
        argv = without_redirections(argv)
        if not argv or argv in (["…"], ["..."]):
            continue  # "`harness …`": the CLI mentioned, no command shown
        if shown.inline and len(argv) == 1 and not argv[0].startswith("-"):
            if argv[0] not in COMMAND_NAMES:
                problems.append(f"{shown.where()}: no such command {argv[0]!r}")
            continue
        try:
            variants = [substituted(v) for v in synopsis_variants(argv)]
        except KeyError as exc:
            problems.append(f"{shown.where()}: {exc.args[0]}")
            continue
        for variant in variants:
            error = parse_error(variant)
            if error and naming_an_option(shown, variant, error):
                continue
            if error:
                problems.append(f"{shown.where()}: {shlex.join(variant)}: {error}")
    return problems


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", text, re.M))


def make_problems(doc: Path) -> list[str]:
    targets, problems = makefile_targets(), []
    for shown in shown_commands(doc):
        for part in re.split(r"\s(?:\|\||&&|\||;)\s", shown.text):
            words = part.split("#", 1)[0].split()
            if not words or words[0] != "make":
                continue
            for word in words[1:]:
                if word.startswith("-") or "=" in word:
                    continue
                if word.strip("'s") not in targets and word not in targets:
                    problems.append(f"{shown.where()}: no Makefile target {word!r}")
    return problems


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (before the -1, -2 of repeats)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    prose, _ = blank_fences(doc.read_text())
    seen: dict[str, int] = {}
    found = set(re.findall(r"<a\s+(?:id|name)=[\"']([^\"']+)[\"']", prose))
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", prose, re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def link_problems(doc: Path) -> list[str]:
    prose, _ = blank_fences(doc.read_text())
    prose = re.sub(r"(?<!`)(`+)(?!`).+?(?<!`)\1(?!`)", lambda m: " " * len(m.group(0)), prose)
    problems = []
    for m in re.finditer(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose):
        target = m.group(1)
        if re.match(r"[a-z][a-z+.-]*:", target):
            continue  # https:, mailto:
        line = prose.count("\n", 0, m.start()) + 1
        where = f"{doc.relative_to(ROOT)}:{line}: ({target})"
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve() if path else doc
        if not resolved.exists():
            problems.append(f"{where}: no such file {path}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            problems.append(f"{where}: {resolved.relative_to(ROOT)} has no heading #{anchor}")
    return problems


IDS = [str(d.relative_to(ROOT)) for d in DOCS]


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_harness_command_shown_parses(doc):
    assert not command_problems(doc), "\n".join(command_problems(doc))


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_make_target_shown_exists(doc):
    assert not make_problems(doc), "\n".join(make_problems(doc))


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_relative_link_resolves(doc):
    assert not link_problems(doc), "\n".join(link_problems(doc))


def test_the_docs_show_commands_and_links_at_all():
    """The checks above pass vacuously if the extraction finds nothing: it must find the README's
    two commands, the synopses of docs/commands.md and links with anchors."""
    readme = list(shown_commands(ROOT / "README.md"))
    assert any(s.text.startswith("make bench") for s in readme)
    synopses = [s for s in shown_commands(ROOT / "docs" / "commands.md") if harness_argv(s, set())]
    assert len(synopses) >= len(COMMANDS)
    assert {s.text.split()[1] for s in synopses if len(s.text.split()) > 1} >= COMMAND_NAMES
    assert "the-two-commands" in anchors(ROOT / "README.md")


def test_the_readme_is_a_first_five_minutes_read():
    """Issue 28: README ≤ 200 lines, the two setup commands first, the smoke run beside them."""
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    first_block = blank_fences(text)[1][0][2]
    assert [line.split()[:2] for line in first_block] == [["make", "bench"], ["make", "test"]]
    assert "make bench QUICK=1" in text


@pytest.mark.parametrize(
    "text, argv",
    [
        ("harness run --size quick", ["run", "--size", "quick"]),
        (".venv/bin/python -m harness report latest > out.txt", ["report", "latest"]),
        ("time python -m harness profile latest", ["profile", "latest"]),
        (
            "harness compare A B --format json | jq '.changes[]'",
            ["compare", "A", "B", "--format", "json"],
        ),
        ("cargo build && harness list", ["list"]),
        ("harness build # the builds", ["build"]),
    ],
)
def test_commands_are_read_as_a_shell_would(text, argv):
    shown = Shown(ROOT / "README.md", 1, text, inline=False)
    assert without_redirections(harness_argv(shown, set())) == argv


def test_a_synopsis_stands_for_every_alternative_and_optional_group():
    variants = synopsis_variants(shlex.split("export [RESULTS] --format csv|bmf [--out DIR]"))
    assert [substituted(v) for v in variants] == [
        ["export", "--format", "csv"],
        ["export", "latest", "--format", "csv", "--out", "bench"],
        ["export", "latest", "--format", "bmf", "--out", "bench"],
    ]


def test_anchors_follow_githubs_slugs():
    assert slug("Finding runs: `harness history` and run specs") == (
        "finding-runs-harness-history-and-run-specs"
    )
    assert slug('What "comparable" means') == "what-comparable-means"
    assert slug("CPU profiles (`harness profile`)") == "cpu-profiles-harness-profile"
