"""Shell completions: the checked-in scripts are fresh, and real bash, zsh and fish complete
streamcli with them, through the installed entry point (.venv/bin/streamcli).

Each shell runs non-interactively:
  bash  sources the file, sets COMP_WORDS/COMP_CWORD/COMP_LINE/COMP_POINT and calls the
        function that `complete -p streamcli` names, then prints COMPREPLY;
  zsh   runs an interactive zsh inside zsh/zpty, presses TAB through a completion widget
        that wraps _main_complete, and a compadd wrapper reports every match added
        (the real _describe and _path_files run);
  fish  `complete -C LINE`, with the file sourced or autoloaded from fish_complete_path.
A shell that is not installed is a skip that says so; scripts/test installs them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from streamcli.cli import KNOWN_MODELS
from tests.helpers.env import clean_env, config_file
from tests.helpers.paths import ROOT

GENERATOR = ROOT / "scripts" / "gen_docs.py"
COMPLETIONS = ROOT / "completions"
FILES = {"bash": "streamcli.bash", "zsh": "_streamcli", "fish": "streamcli.fish"}
BIN = Path(sys.executable).parent  # .venv/bin: its streamcli must be the one the shells run
STREAMCLI = BIN / "streamcli"
PROVIDER = "mylocal"  # a named provider of the test's config file
TIMEOUT = 60


def run(argv, *, env, cwd=None, stdin=subprocess.DEVNULL, timeout=TIMEOUT):
    """Run a process in its own session; on timeout, kill the whole group (zpty's zsh too)."""
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=10)
        pytest.fail(f"{argv[0]} did not finish within {timeout} s\nstdout: {out!r}\n"
                    f"stderr: {err!r}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


# --- the checked-in files are what the generator makes now ------------------------------

def test_checked_in_completions_are_fresh(tmp_path):
    result = run([sys.executable, str(GENERATOR), "--out", str(tmp_path / "out")],
                 env=clean_env(tmp_path / "home"))
    assert result.returncode == 0, result.stderr.decode()
    stale = []
    for name in FILES.values():
        fresh = (tmp_path / "out" / "completions" / name).read_text(encoding="utf-8")
        current = COMPLETIONS / name
        if not current.is_file() or current.read_text(encoding="utf-8") != fresh:
            stale.append(f"completions/{name}")
    assert not stale, (f"stale generated files: {', '.join(stale)}; "
                       f"run: .venv/bin/python scripts/gen_docs.py")


def test_zsh_file_starts_with_compdef():
    # compinit only registers files of $fpath whose first line is the #compdef tag.
    first = (COMPLETIONS / FILES["zsh"]).read_text(encoding="utf-8").split("\n", 1)[0]
    assert first == "#compdef streamcli"


# --- a sandbox: config file with a named provider, a folder of files ---------------------

@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    if not STREAMCLI.is_file():
        pytest.fail(f"{STREAMCLI} is missing: install the package (pip install -e .)")
    root = tmp_path_factory.mktemp("completion")
    (root / "home").mkdir()
    # The clean environment, with this venv's bin first: its streamcli is the one the
    # shells must run.
    env = clean_env(root / "home", {
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "TERM": "dumb",
    })
    config = config_file(env)
    config.parent.mkdir(parents=True)
    config.write_text(f'[providers.{PROVIDER}]\nkind = "openai"\n'
                      f'base_url = "http://127.0.0.1:9/v1"\n', encoding="utf-8")
    files = root / "files"
    (files / "sub").mkdir(parents=True)
    for name in ("capture.sse", "tools.json", "notes.txt", "sub/inner.sse"):
        (files / name).write_text("x", encoding="utf-8")
    write_log(env, CONVERSATIONS)
    return {"root": root, "files": files, "env": env}


# Two conversations in the sandbox's log, for --cid and `logs show`.
CONVERSATIONS = ("01jdaaaaaaaaaaaaaaaaaaaaaa", "01jdbbbbbbbbbbbbbbbbbbbbbb")


def write_log(env, ids) -> None:
    from streamcli import conversation, logbook
    for i, cid in enumerate(ids):
        row = {c: None for c in logbook.COLUMNS}
        row.update(id=conversation.new_id(), conversation_id=cid, time="2026-11-21T10:00:00.000Z",
                   prompt=f"question {i}", text="answer", status="ok", exit_code=0)
        logbook.write(env, row)


# What each line completes to, and what the answer must hold.
QUERIES = {
    "option name": "streamcli --pro",
    "provider": "streamcli --provider ",
    "model": "streamcli -m ",
    "model prefix": "streamcli -m myl",
    "--replay file": "streamcli --replay ",
    "--tools file": "streamcli --tools t",
    "--messages file": "streamcli --messages t",
    "--cid": "streamcli --cid ",
    "subcommand": "streamcli lo",
    "logs subcommands": "streamcli logs ",
    "logs show id": "streamcli logs show 01jdb",
    "batch command": "streamcli bat",
    "batch subcommand": "streamcli batch s",
    "batch option": "streamcli batch run --uno",
    "batch model": "streamcli batch submit -m myl",
    "-a file": "streamcli -a n",
    "--schema file": "streamcli --schema-list su",
    "--attach-type": "streamcli --attach-type image/",
}


def check(what: str, got: list[str]) -> None:
    names = sorted({g.rstrip("/") for g in got})  # fish marks folders with a slash
    if what == "option name":
        assert "--provider" in got
    elif what == "provider":
        assert {"anthropic", "openai", "openai-responses", PROVIDER} <= set(got)
    elif what == "model":
        assert {f"{PROVIDER}:", *KNOWN_MODELS} <= set(got)
    elif what == "model prefix":
        assert got == [f"{PROVIDER}:"]
    elif what == "--replay file":
        assert {"capture.sse", "notes.txt", "tools.json", "sub"} <= set(names)
    elif what in ("--tools file", "--messages file"):
        assert names == ["tools.json"]
    elif what == "--cid":
        assert set(CONVERSATIONS) <= set(got)
    elif what == "subcommand":
        assert got == ["logs"]
    elif what == "logs subcommands":
        assert {"list", "show", "search", "export", "path"} <= set(got)
    elif what == "logs show id":
        assert got == [CONVERSATIONS[1]]
    elif what == "batch command":
        assert got == ["batch"]
    elif what == "batch subcommand":
        assert sorted(got) == ["status", "submit"]
    elif what == "batch option":
        assert got == ["--unordered"]
    elif what == "batch model":
        assert got == [f"{PROVIDER}:"]
    elif what == "-a file":
        assert names == ["notes.txt"]
    elif what == "--schema file":
        assert names == ["sub"]
    elif what == "--attach-type":
        assert sorted(got) == ["image/gif", "image/jpeg", "image/png", "image/webp"]
    else:  # pragma: no cover
        raise AssertionError(what)


MARK = re.compile(r"@@(QUERY|HIT|LINE|COMPOPT)@@(.*?)@@END@@")


def parse(output: str) -> dict[str, dict[str, list[str]]]:
    """{query line: {"HIT": [candidates], "LINE": [the line after TAB], "COMPOPT": [...]}}"""
    results: dict[str, dict[str, list[str]]] = {}
    current = None
    for kind, value in MARK.findall(output):
        if kind == "QUERY":
            current = results.setdefault(value, {"HIT": [], "LINE": [], "COMPOPT": []})
        elif current is not None:
            current[kind].append(value)
    return results


def need(shell: str) -> str:
    path = shutil.which(shell)
    if path is None:
        pytest.skip(f"{shell} is not installed: scripts/test installs it with apt-get when "
                    f"run as root (apt-get install {shell})")
    return path


def copy_of(tmp: Path, shell: str) -> Path:
    """The checked-in file, alone in a folder (for $fpath and fish_complete_path)."""
    folder = tmp / f"{shell}-completions"
    folder.mkdir(exist_ok=True)
    shutil.copy(COMPLETIONS / FILES[shell], folder)
    return folder / FILES[shell]


# --- bash ---------------------------------------------------------------------------------

BASH_DRIVER = r"""
source "$1" || exit 3
spec=$(complete -p streamcli) || { echo "no completion registered for streamcli" >&2; exit 3; }
func=${spec##*-F }; func=${func%% *}
# compopt only works inside a completion started by readline: record what is asked of it.
compopt() { local IFS=' '; printf '@@COMPOPT@@%s@@END@@\n' "$*"; }
query() {
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
    COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    printf '@@QUERY@@%s@@END@@\n' "$COMP_LINE"
    "$func" streamcli "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    local hit
    for hit in "${COMPREPLY[@]}"; do printf '@@HIT@@%s@@END@@\n' "$hit"; done
}
"""


def bash_results(sandbox, tmp: Path) -> str:
    bash = need("bash")
    calls = "\n".join("query " + " ".join(shlex.quote(w) for w in line.split(" "))
                      for line in QUERIES.values())
    script = tmp / "drive.bash"
    script.write_text(BASH_DRIVER + calls + "\n", encoding="utf-8")
    result = run([bash, "--norc", "--noprofile", str(script), str(COMPLETIONS / FILES["bash"])],
                 env=sandbox["env"], cwd=sandbox["files"])
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


# --- zsh ----------------------------------------------------------------------------------

ZSH_INIT = r"""
PS1='> '
unsetopt prompt_cr prompt_sp
setopt no_beep no_auto_list no_auto_menu
bindkey -e
if [[ $STREAMCLI_LOAD == fpath ]]; then
    fpath=("${STREAMCLI_COMPLETION:h}" $fpath)
fi
autoload -Uz compinit && compinit -u -D
if [[ $STREAMCLI_LOAD == source ]]; then
    source "$STREAMCLI_COMPLETION"
fi
# Report every match that completion adds. Calls that only fill arrays (-O, -A, -D) go
# straight through; the others are reported, then added as usual.
compadd() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"
        return
    fi
    local -a hits
    builtin compadd -O hits "$@"
    local hit
    for hit in "${hits[@]}"; do print -r -- "@@HIT@@${hit}@@END@@"; done
    builtin compadd "$@"
}
__streamcli_capture() { _main_complete; print -r -- "@@DO""NE@@" }
zle -C __streamcli_capture .complete-word __streamcli_capture
bindkey '^I' __streamcli_capture
# Ctrl-X Ctrl-B shows the command line as completion left it.
__streamcli_show() { print -r -- "@@LI""NE@@${BUFFER}@@END@@" }
zle -N __streamcli_show
bindkey '^X^B' __streamcli_show
"""

# Queries run one after another in the same shell: the second completion of a session
# must work too (an autoloaded completion function used to offer nothing the second time).
ZSH_DRIVER = r"""
zmodload zsh/zpty || { print -u2 "zsh/zpty module missing"; exit 3 }
zpty z zsh -f -i
zpty -w z "source ${(q)STREAMCLI_INIT}; print @@REA''DY@@"
zpty -r -m z out '*@@READY@@*' || { print -u2 "zsh did not start"; exit 4 }
for line in "$@"; do
    zpty -w -n z "$line"$'\t'
    zpty -r -m z out '*@@DONE@@*' || { print -u2 "no completion for: $line"; exit 5 }
    print -r -- "@@QUERY@@${line}@@END@@"
    print -r -- "$out"
    zpty -w -n z $'\C-x\C-b'
    zpty -r -m z out '*@@LINE@@*@@END@@*' || { print -u2 "no line after: $line"; exit 7 }
    print -r -- "$out"
    # Clear the line and run a command, so the next completion starts from a new prompt.
    zpty -w z $'\C-u'"print @@NE''XT@@"
    zpty -r -m z out '*@@NEXT@@*' || exit 6
done
zpty -d z
"""


def zsh_results(sandbox, tmp: Path, load: str) -> str:
    zsh = need("zsh")
    (tmp / "init.zsh").write_text(ZSH_INIT, encoding="utf-8")
    (tmp / "drive.zsh").write_text(ZSH_DRIVER, encoding="utf-8")
    env = {**sandbox["env"], "TERM": "xterm", "STREAMCLI_LOAD": load,
           "STREAMCLI_COMPLETION": str(copy_of(tmp, "zsh")),
           "STREAMCLI_INIT": str(tmp / "init.zsh")}
    result = run([zsh, "-f", str(tmp / "drive.zsh"), *QUERIES.values()], env=env,
                 cwd=sandbox["files"])
    assert result.returncode == 0, (result.stderr.decode(), result.stdout.decode())
    return result.stdout.decode("utf-8", "replace")


# --- fish ---------------------------------------------------------------------------------

FISH_DRIVER = r"""
if test "$STREAMCLI_LOAD" = source
    source $STREAMCLI_COMPLETION; or exit 3
else
    set -p fish_complete_path (dirname $STREAMCLI_COMPLETION)
end
for line in $argv
    echo "@@QUERY@@$line@@END@@"
    for candidate in (complete -C $line)
        echo "@@HIT@@"(string split -f1 \t -- $candidate)"@@END@@"
    end
end
"""


def fish_results(sandbox, tmp: Path, load: str) -> str:
    fish = need("fish")
    (tmp / "drive.fish").write_text(FISH_DRIVER, encoding="utf-8")
    env = {**sandbox["env"], "STREAMCLI_LOAD": load,
           "STREAMCLI_COMPLETION": str(copy_of(tmp, "fish"))}
    result = run([fish, "--no-config", str(tmp / "drive.fish"), *QUERIES.values()], env=env,
                 cwd=sandbox["files"])
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout.decode()


SHELLS = {
    "bash": lambda sb, tmp: bash_results(sb, tmp),
    "zsh-fpath": lambda sb, tmp: zsh_results(sb, tmp, "fpath"),
    "zsh-source": lambda sb, tmp: zsh_results(sb, tmp, "source"),
    "fish-autoload": lambda sb, tmp: fish_results(sb, tmp, "autoload"),
    "fish-source": lambda sb, tmp: fish_results(sb, tmp, "source"),
}


@pytest.fixture(scope="module")
def completed(sandbox):
    """Each shell runs all QUERIES once; the tests below check one answer each."""
    cache: dict[str, dict] = {}

    def get(shell: str) -> dict:
        if shell not in cache:
            tmp = sandbox["root"] / shell
            tmp.mkdir(exist_ok=True)
            cache[shell] = parse(SHELLS[shell](sandbox, tmp))
        return cache[shell]

    return get


@pytest.mark.parametrize("what", list(QUERIES))
@pytest.mark.parametrize("shell", list(SHELLS))
def test_shell_completes(completed, shell, what):
    results = completed(shell)
    line = QUERIES[what]
    assert line in results, f"{shell} never completed {line!r}: {results}"
    check(what, results[line]["HIT"])


# The command line after TAB, in zsh: a unique match is inserted, and a provider NAME:
# gets no space after it (the model follows).
INSERTED = {
    "option name": "streamcli --provider ",
    "model prefix": "streamcli -m mylocal:",
    "--tools file": "streamcli --tools tools.json ",
    "-a file": "streamcli -a notes.txt ",
}


@pytest.mark.parametrize("what", list(INSERTED))
@pytest.mark.parametrize("shell", ["zsh-fpath", "zsh-source"])
def test_zsh_inserts_the_match(completed, shell, what):
    assert completed(shell)[QUERIES[what]]["LINE"] == [INSERTED[what]]


def test_bash_leaves_no_space_after_a_provider_name(completed):
    results = completed("bash")
    assert "-o nospace" in results[QUERIES["model prefix"]]["COMPOPT"]
    assert "-o nospace" not in results[QUERIES["option name"]]["COMPOPT"]
    # file names are handed to readline as file names (quoting, a slash after folders)
    assert "-o filenames" in results[QUERIES["--replay file"]]["COMPOPT"]


# --- the completion protocol, through the installed entry point --------------------------

def complete_env(sandbox, words: str, cword: int, **extra) -> dict:
    return {**sandbox["env"], "_STREAMCLI_COMPLETE": "bash_complete", "COMP_WORDS": words,
            "COMP_CWORD": str(cword), **extra}


def test_completion_mode_prints_only_candidates_and_never_reads_stdin(sandbox):
    # The shell runs the command with the terminal as stdin: a pipe that stays open
    # stands in for it, so a read of stdin would hang here (and time out).
    result = run([str(STREAMCLI)], env=complete_env(sandbox, "streamcli --provider ", 2),
                 stdin=subprocess.PIPE, timeout=30)
    assert result.returncode == 0
    assert result.stderr == b""
    assert result.stdout == (f"plain,anthropic\nplain,openai\nplain,openai-responses\n"
                             f"plain,{PROVIDER}\n").encode()


def test_completion_mode_marks_file_options_as_files(sandbox):
    result = run([str(STREAMCLI)], env=complete_env(sandbox, "streamcli --tools ca", 2))
    assert (result.returncode, result.stderr, result.stdout) == (0, b"", b"file,ca\n")


def test_completion_reads_the_config_named_by_streamcli_config(sandbox, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text('[providers.elsewhere]\nkind = "anthropic"\n', encoding="utf-8")
    env = complete_env(sandbox, "streamcli -m ", 2, STREAMCLI_CONFIG=str(other))
    result = run([str(STREAMCLI)], env=env)
    assert result.returncode == 0, result.stderr
    offered = [line.split(",", 1)[1] for line in result.stdout.decode().splitlines()]
    assert "elsewhere:" in offered and f"{PROVIDER}:" not in offered


def test_completing_a_conversation_id_never_creates_the_log(sandbox, tmp_path):
    missing = tmp_path / "none" / "logs.db"
    env = complete_env(sandbox, "streamcli --cid ", 2, STREAMCLI_DB=str(missing))
    result = run([str(STREAMCLI)], env=env)
    assert (result.returncode, result.stderr, result.stdout.strip()) == (0, b"", b"")
    assert not missing.parent.exists()


def test_completion_offers_each_conversation_with_its_first_prompt(sandbox):
    env = {**complete_env(sandbox, "streamcli --cid ", 2), "_STREAMCLI_COMPLETE": "zsh_complete"}
    result = run([str(STREAMCLI)], env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[:3] == ["plain", CONVERSATIONS[1], "question 1"]


def test_broken_config_still_completes_quietly(sandbox, tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[providers.x\nkind = ", encoding="utf-8")
    env = complete_env(sandbox, "streamcli --provider ", 2, STREAMCLI_CONFIG=str(broken))
    result = run([str(STREAMCLI)], env=env)
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == b"plain,anthropic\nplain,openai\nplain,openai-responses\n"


def offered(result) -> list[str]:
    assert (result.returncode, result.stderr) == (0, b""), result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.decode().splitlines()]


def test_model_completion_offers_the_last_listing_and_never_fetches(sandbox, tmp_path):
    """`streamcli models` caches a listing; completing -m then offers its ids (NAME:ID for
    a provider of the config file) instead of the built-in names of that provider, and
    asks no server anything, even when the listing is old."""
    from tests.helpers.fakeserver import FakeServer, Reply
    env = {**sandbox["env"], "XDG_CACHE_HOME": str(tmp_path / "cache")}
    with FakeServer() as srv:
        srv.enqueue(Reply.json(200, {"object": "list", "data": [
            {"id": "gpt-listed-1", "object": "model"}, {"id": "with space", "object": "model"},
            {"id": "gpt-listed-2", "object": "model"}]}))
        listed = run([str(STREAMCLI), "models", "--base-url", srv.url + "/v1",
                      "--provider", PROVIDER], env=env)
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout == b"gpt-listed-1\nwith space\ngpt-listed-2\n"
        before = len(srv.requests)
        got = offered(run([str(STREAMCLI)], env={**env, **complete_env(sandbox, "streamcli -m ", 2),
                                                 "XDG_CACHE_HOME": env["XDG_CACHE_HOME"]}))
        assert len(srv.requests) == before == 1  # completing fetched nothing
    # The listing was of the named provider: its ids come with its name; the built-in
    # providers, never listed, keep their built-in names. A name with a blank is no
    # completion (a completion is one word).
    assert f"{PROVIDER}:gpt-listed-1" in got and f"{PROVIDER}:gpt-listed-2" in got
    assert not any("space" in g for g in got)
    assert set(KNOWN_MODELS) <= set(got)
    # Old listings are still offered (completion never refreshes them).
    cache = tmp_path / "cache" / "streamcli" / "models.json"
    data = json.loads(cache.read_text())
    for listing in data["listings"].values():
        listing["fetched_at"] = 0
    cache.write_text(json.dumps(data))
    again = offered(run([str(STREAMCLI)], env={**env, **complete_env(sandbox, "streamcli -m my", 2),
                                               "XDG_CACHE_HOME": env["XDG_CACHE_HOME"]}))
    assert again == [f"{PROVIDER}:", f"{PROVIDER}:gpt-listed-1", f"{PROVIDER}:gpt-listed-2"]


def test_a_listing_of_a_built_in_provider_replaces_its_built_in_names(sandbox, tmp_path):
    """A cache written by `streamcli models` for Anthropic's own URL (as modelcache stores
    it): completion offers those ids and no longer the built-in claude names."""
    from streamcli import modelcache
    from streamcli.providers import anthropic
    env = {**sandbox["env"], "XDG_CACHE_HOME": str(tmp_path / "cache")}
    modelcache.store(env, "anthropic", "anthropic", anthropic.DEFAULT_BASE_URL,
                     [{"id": "claude-listed-9", "type": "model"}])
    got = offered(run([str(STREAMCLI)], env={**complete_env(sandbox, "streamcli -m cl", 2),
                                             "XDG_CACHE_HOME": env["XDG_CACHE_HOME"]}))
    assert got == ["claude-listed-9"]


def test_a_broken_cache_falls_back_to_the_built_in_names(sandbox, tmp_path):
    cache = tmp_path / "cache" / "streamcli" / "models.json"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"{not json")
    got = offered(run([str(STREAMCLI)], env={**complete_env(sandbox, "streamcli -m ", 2),
                                             "XDG_CACHE_HOME": str(tmp_path / "cache")}))
    assert set(KNOWN_MODELS) <= set(got)
