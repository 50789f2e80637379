"""Writes the `wordle` dataset and its word lists: `python gymhall/envs/wordle/data/generate.py`.

    python gymhall/envs/wordle/data/generate.py           # rewrite answers.txt, allowed.txt, wordle.jsonl
    python gymhall/envs/wordle/data/generate.py --check   # exit 1 if any of them differs from what this makes

Deterministic (one seeded RNG), so re-running it reproduces the committed files byte for byte; the
test suite checks that. It needs two small MIT-licensed PyPI packages, at generation time only (the
game reads the files it writes, never the packages):

- `english-words` 2.0.2: its `web2` list, Webster's Second International Dictionary (1934, public
  domain; the `/usr/share/dict/web2` of the BSDs). Its lower-case five-letter words are the guesses
  the game accepts, with the answers and the plurals below.
- `wonderwords` 3.0.1: its lists of common English nouns, verbs and adjectives. Their five-letter
  words that web2 also has, with `CLASSIC_WORDS` (the first version's hand-picked list), are the
  answers; four-letter nouns plus "s" (when that is a plain plural) are accepted as guesses too;
  its profanity list is kept out of the answers.

Each answer gets a difficulty (`word_difficulty`): how many other answers differ from it in one
letter (the LIGHT/NIGHT/RIGHT trap), repeated letters, and rare letters. Rows are drawn per tier,
and harder tiers also get fewer guesses. A few rows give a `seed` rather than the secret.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Any

from gymhall.envs.wordle.server import Wordle

HERE = Path(__file__).resolve().parent
OUTPUT = HERE / "wordle.jsonl"
ANSWERS = HERE / "answers.txt"
ALLOWED = HERE / "allowed.txt"
RNG_SEED = 20261206
ROWS_PER_TIER = 170
SEEDED_ROWS = 30  # rows that give a `seed` rather than the secret itself
MAX_GUESSES = {"easy": (6,), "medium": (6, 5), "hard": (6, 5, 4)}

#: The first version's answer list: 359 common words, picked by hand.
CLASSIC_WORDS = tuple(
    """
    about above actor adult after again agent agree ahead alarm album alert alive allow alone along among
    angle angry apple apply arena argue arise aside award aware basic beach begin being below bench birth
    black blame blind block blood board boost brain brand bread break brick brief bring broad brown build
    built buyer cable candy carry catch cause chain chair chart cheap check chest chief child civil claim
    class clean clear climb clock close cloud coach coast count court cover crane cream crime cross crowd
    dance death depth dirty doubt draft drama dream dress drink drive eager early earth eight empty enemy
    enjoy enter entry equal error event every exact exist extra faith false fault field fight final first
    flame floor focus force frame fresh front fruit funny ghost giant given glass globe grace grade grand
    grant grass great green group guard guess guide happy heart heavy horse hotel house human ideal image
    index inner input issue jelly joint judge juice knife label large laser later laugh layer learn least
    leave legal lemon level light limit lucky lunch magic major maker march match maybe metal minor model
    money month moral motor mount mouse mouth music never night noise north novel nurse ocean offer often
    order other owner paint panel paper party peace phase phone photo piano piece pilot pitch place plain
    plane plant plate point power press price pride prime print prize proof proud queen quick quiet radio
    raise range rapid ratio reach ready right river robot rough round route royal rural salad scale scene
    scope score sense serve seven shape share sharp sheep shelf shell shift shirt shock shoot short sight
    skill sleep slide small smart smile smoke solid solve sound south space speak speed spend sport staff
    stage stand start state steam steel stick still stock stone store storm story sugar sweet table taste
    teach thank theme thing think three throw tiger title today tooth topic total touch tower track trade
    train treat trend trial truck trust truth twice uncle under union unity until upper urban usual valid
    value video visit voice waste watch water wheel where which while white whole woman world worry write
    wrong young
    """.split()
)

PROMPTS = (
    "Let's play Wordle. Find the secret five-letter English word in at most {n} guesses. "
    "Use the `guess` tool for every guess: it tells you, for each letter, whether it is correct "
    "(right letter in the right spot), present (in the word but elsewhere) or absent (not in the word). "
    "Guess English words; a guess the game refuses does not count. "
    "When you have found the word, reply with it.",
    "I am thinking of a five-letter English word. You have {n} guesses to find it, each made with the "
    "`guess` tool, which marks every letter of your guess correct (right place), present (elsewhere in the "
    "word) or absent. Words the game does not know are refused and cost no guess. Tell me the word once "
    "you have it.",
    "Wordle, {n} tries: call the `guess` tool with a five-letter English word; the feedback marks each "
    "letter correct, present or absent. Repeated letters are marked as in the real game. Reply with the "
    "secret word when the tool says you won.",
)

_HEADER = (
    "# {what}, one per line, written by data/generate.py (do not edit by hand).\n"
    "# Sources: english-words 2.0.2 (MIT), list web2: Webster's Second International Dictionary,\n"
    "# 1934, public domain; wonderwords 3.0.1 (MIT), common nouns, verbs and adjectives.\n"
)


def _shaped(word: str) -> bool:
    return len(word) == 5 and word.isascii() and word.isalpha() and word.islower()


def _wonderwords(name: str) -> list[str]:
    text = resources.files("wonderwords.assets").joinpath(f"{name}.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def word_lists() -> tuple[list[str], list[str]]:
    """(answers, allowed guesses), each sorted; every answer is an allowed guess."""
    from english_words import get_english_words_set  # type: ignore[import-untyped]  # generation time only

    web2 = {w for w in get_english_words_set(["web2"]) if _shaped(w)}  # capitalized: proper nouns, left out
    nouns = _wonderwords("nounlist")
    common = {w for name in ("nounlist", "verblist", "adjectivelist") for w in _wonderwords(name) if _shaped(w)}
    profane = set(_wonderwords("profanitylist"))
    plurals = {f"{n}s" for n in nouns if len(n) == 4 and n.isalpha() and n.islower() and n[-1] not in "hsxyz"}
    answers = sorted(((common & web2) | set(CLASSIC_WORDS)) - profane)
    allowed = sorted(web2 | common | plurals | set(answers))
    return answers, allowed


def one_letter_patterns(answers: list[str]) -> Counter[str]:
    """How many answers fit each pattern with one letter blanked (`c_ane`): the neighbours of a word."""
    return Counter(f"{word[:i]}_{word[i + 1 :]}" for word in answers for i in range(len(word)))


def word_difficulty(word: str, patterns: Counter[str], rare: str) -> int:
    """Higher is harder: answers one letter away, twice the repeated letters, and the rare letters."""
    neighbours = sum(patterns[f"{word[:i]}_{word[i + 1 :]}"] - 1 for i in range(len(word)))
    return neighbours + 2 * (5 - len(set(word))) + sum(letter in rare for letter in word)


def tiers(answers: list[str]) -> dict[str, list[str]]:
    """The answers by tier of `word_difficulty`: easy 0-1, medium 2-3, hard 4 or more (about a third each)."""
    counts = Counter(letter for word in answers for letter in word)
    rare = "".join(letter for letter, _ in counts.most_common()[-10:])
    patterns = one_letter_patterns(answers)
    found: dict[str, list[str]] = {"easy": [], "medium": [], "hard": []}
    for word in answers:
        score = word_difficulty(word, patterns, rare)
        found["easy" if score <= 1 else "medium" if score <= 3 else "hard"].append(word)
    return found


def _openers(rng: random.Random, pool: list[str], secret: str) -> tuple[str, str]:
    """Two answers, neither the secret, with no letter in common: a typical informative start."""
    first = rng.choice([w for w in pool if w != secret])
    second = rng.choice([w for w in pool if w != secret and not set(w) & set(first)])
    return first, second


def build_rows(answers: list[str] | None = None) -> list[dict[str, Any]]:
    """The dataset's rows, in order."""
    answers = answers if answers is not None else word_lists()[0]
    rng = random.Random(RNG_SEED)
    tools = [spec.schema() for spec in Wordle.tools()]
    by_tier = tiers(answers)
    tier_of = {word: tier for tier, words in by_tier.items() for word in words}
    distinct = [w for w in answers if len(set(w)) == 5]
    tasks: list[tuple[dict[str, Any], str]] = []
    for words in by_tier.values():
        tasks += [({"secret": word}, word) for word in rng.sample(words, ROWS_PER_TIER)]
    for _ in range(SEEDED_ROWS):
        seed = rng.randrange(1_000_000)
        tasks.append(({"seed": seed}, random.Random(seed).choice(answers)))  # as WordleGame(seed=...) picks
    rows = []
    for task, secret in tasks:
        tier = tier_of[secret]
        max_guesses = rng.choice(MAX_GUESSES[tier])
        first, second = _openers(rng, distinct, secret)
        prompt = rng.choice(PROMPTS).format(n=max_guesses)
        rows.append(
            {
                "responses_create_params": {"input": [{"role": "user", "content": prompt}], "tools": tools},
                **task,
                "max_guesses": max_guesses,
                "difficulty": tier,
                "reference_solution": {
                    "tool_calls": [{"name": "guess", "arguments": {"word": word}} for word in (first, second, secret)],
                    "answer": f"The word is {secret.upper()}.",
                },
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The JSONL text of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def render_words(what: str, words: list[str]) -> str:
    """The text of a word list file: the header (sources, licenses), then one word a line."""
    return _HEADER.format(what=what) + "".join(f"{word}\n" for word in words)


def outputs() -> dict[Path, str]:
    """Every file this script writes, and its text."""
    answers, allowed = word_lists()
    return {
        ANSWERS: render_words("The words a secret is drawn from", answers),
        ALLOWED: render_words("The guesses the game accepts (the answers included)", allowed),
        OUTPUT: render(build_rows(answers)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare the files instead of writing them")
    args = parser.parse_args(argv)
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(path.name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {len(text.splitlines())} lines to {path}")
    if stale:
        print(f"differ from what generate.py makes: {', '.join(stale)}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
