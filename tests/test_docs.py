"""Every ```python block of README.md and of every docs/**/*.md page runs, and every stated output is checked.

Conventions (for whoever writes README sections or docs pages):

- Each page's blocks run in order in ONE shared namespace of that page, like the cells of a
  notebook: a block may use what an earlier block of the same page defined. Each block is one test, named after its position and first line;
  the blocks are run once, in order, by a module fixture, so selecting one test still runs the
  blocks before it. The working directory is a fresh temporary one (files a snippet writes go there).
- A block that contains ``>>>`` prompts is a doctest: each prompt's shown output (or traceback) must
  be what it prints, compared with ELLIPSIS and NORMALIZE_WHITESPACE. A block without prompts runs
  as a script. Stated values belong in ``>>>`` form; ``# comments`` are not checked.
- ``<!-- output of: python examples/NAME.py [ARGS] -->`` right before a ```text block: the example
  is run and each paragraph of the block (lines between blank lines) must appear verbatim in its stdout.
- ``<!-- not run: REASON -->`` right before a ```python block skips it, with the reason shown
  (only for what cannot run offline, such as a download).
- A block that needs an optional package (torch, onnx, ...) or Fashion-MNIST is skipped when that is
  missing and CI is not set; under ``CI=true`` it fails instead.
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").rglob("*.md"))]
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
OPTIONAL = ("torch", "onnx", "onnxruntime", "matplotlib", "tqdm")
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[ \t]*$")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not run|output of):\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    marker: tuple[str, str] | None  # ("not run", reason) or ("output of", command)

    @property
    def name(self) -> str:
        first = next((ln.strip() for ln in self.code.splitlines() if ln.strip()), "")
        return f"line{self.line}: {first[:40]}"


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, dedented, with the marker comment on the line before."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group("lang"):
            i += 1
            continue
        indent, start = m.group("indent"), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i].lstrip())
            i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.match(previous)
        found.append(Block(m.group("lang"), "\n".join(body) + "\n", start + 1,
                           (marker.group("kind"), marker.group("arg")) if marker else None))
        i += 1
    return found


ALL = {page: blocks(page.read_text(encoding="utf-8")) for page in PAGES}
PYTHON = [(page, b) for page, found in ALL.items() for b in found if b.lang == "python"]
EXPECTED_OUTPUTS = [(page, b) for page, found in ALL.items() for b in found
                    if b.lang == "text" and b.marker and b.marker[0] == "output of"]


def _id(page: Path, block: Block) -> str:
    return f"{page.relative_to(ROOT)}:{block.name}"


def _missing_optional(exc: BaseException) -> str | None:
    """The optional thing a snippet lacked (a package or a dataset), if that is why it failed."""
    if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] in OPTIONAL:
        return f"needs {exc.name}"
    if type(exc).__name__ == "DataNotFoundError":
        return f"needs data: {str(exc).splitlines()[0]}"
    return None


def run_block(block: Block, namespace: dict, page: Path = README) -> tuple[str, str]:
    """("ok" | "fail" | "skip", detail) after running one block of `page` in the namespace."""
    if block.marker and block.marker[0] == "not run":
        return "skip", f"{page.name} says not run: {block.marker[1]}"
    name = f"{page.relative_to(ROOT)}:{block.line}"
    try:
        if ">>>" in block.code:
            test = doctest.DocTestParser().get_doctest(block.code, namespace, name, str(page), block.line)
            out: list[str] = []
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=out.append, clear_globs=False)
            namespace.update(test.globs)
            if runner.failures:
                # an example that raised a missing-optional ImportError is a skip, not a failure
                found = re.findall(r"No module named '(\w+)'|needs (\w+): pip install", "".join(out))
                reasons = [r for pair in found for r in pair if r in OPTIONAL]
                if reasons and not CI:
                    return "skip", f"needs {reasons[0]}"
                return "fail", "".join(out)
        else:
            exec(compile(block.code, name, "exec"), namespace)
    except Exception as e:  # noqa: BLE001 - reported as the block's failure
        why = _missing_optional(e)
        if why and not CI:
            return "skip", why
        return "fail", "".join(traceback.format_exception(e))
    return "ok", ""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run every page's python blocks in order, one namespace and one fresh directory per page; their outcomes."""
    cwd = os.getcwd()
    outcomes: list[tuple[str, str]] = []
    try:
        for page in PAGES:
            os.chdir(tmp_path_factory.mktemp(page.stem))
            namespace: dict = {"__name__": "__readme__"}
            outcomes += [run_block(b, namespace, page) for p, b in PYTHON if p == page]
    finally:
        os.chdir(cwd)
    return outcomes


def test_the_readme_is_a_short_front_door_whose_snippets_state_their_outputs():
    readme = [b for page, b in PYTHON if page == README]
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250
    assert len(readme) >= 3 and all(">>>" in b.code for b in readme)
    assert any(page == README for page, _ in EXPECTED_OUTPUTS)


LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_relative_link_and_picture_of_a_page_exists(page):
    targets = [m.group("target") for m in LINK.finditer(page.read_text(encoding="utf-8"))]
    missing = [t for t in targets if "://" not in t and not (page.parent / t).exists()]
    assert not missing, f"{page.relative_to(ROOT)} links to missing files: {missing}"


@pytest.mark.parametrize("index", range(len(PYTHON)), ids=[_id(*pb) for pb in PYTHON])
def test_readme_snippet_runs_and_shows_what_it_prints(results, index):
    status, detail = results[index]
    if status == "skip":
        pytest.skip(detail)
    page, block = PYTHON[index]
    assert status == "ok", f"{page.relative_to(ROOT)} snippet at line {block.line} failed:\n{detail}"


@pytest.mark.parametrize("page, block", EXPECTED_OUTPUTS, ids=[f"{p.name}:{b.marker[1]}" for p, b in EXPECTED_OUTPUTS])
def test_readme_example_output_is_what_the_example_prints(page, block):
    args = shlex.split(block.marker[1])
    assert args[0] == "python", block.marker
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode in (0, 1), done.stderr
    printed = "\n".join(line.rstrip() for line in done.stdout.splitlines())
    for paragraph in block.code.strip().split("\n\n"):
        assert paragraph.strip() in printed, (
            f"{page.relative_to(ROOT)} block at line {block.line}: this paragraph is not in the output of {block.marker[1]}:\n"
            f"{paragraph}\n--- the output:\n{done.stdout}")


def test_the_block_parser_reads_fences_markers_and_indented_blocks():
    text = "intro\n\n<!-- not run: needs the network -->\n```python\nx = 1\n```\n\n- item:\n\n  ```python\n  y = 2\n  ```\n"
    found = blocks(text)
    assert [(b.lang, b.code, b.marker) for b in found] == [
        ("python", "x = 1\n", ("not run", "needs the network")), ("python", "y = 2\n", None)]


def test_a_wrong_stated_output_fails():
    wrong = Block("python", ">>> 1 + 1\n3\n", 1, None)
    status, detail = run_block(wrong, {})
    assert status == "fail" and "Expected:\n    3\nGot:\n    2" in detail
    assert run_block(Block("python", ">>> 1 + 1\n2\n", 1, None), {}) == ("ok", "")
    assert run_block(Block("python", "raise ValueError('x')\n", 1, None), {})[0] == "fail"
