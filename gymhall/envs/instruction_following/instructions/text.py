"""Text measures the checkers share: words, word tokens, sentences, blocks, and loose-evaluation variants.

Where IFEval counts with NLTK's models (sentences, word tokens), these are pure-Python stand-ins.
"""

from __future__ import annotations

import re

__all__ = ["count_words", "loose_variants", "split_blocks", "split_sentences", "word_tokens"]

_WORD = re.compile(r"\w+")
# Word tokens with their punctuation as separate tokens, as NLTK's word_tokenize gives them (close to it:
# hyphenated words stay one token as there, but "don't" is one token here where NLTK makes "do", "n't").
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*|[^\w\s]")
# A sentence ends at . ! ? (or a run of them), then any closing quotes or brackets, then a space or the end.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st jr sr vs etc inc ltd co no fig e.g i.e cf approx".split())
_INITIALISM = re.compile(r"^(?:[a-z]\.)+[a-z]$")  # "U.S", "a.m" (the final period is the candidate end)


def count_words(text: str) -> int:
    """Runs of word characters (letters, digits, underscore), as IFEval counts words."""
    return len(_WORD.findall(text))


def word_tokens(text: str) -> list[str]:
    """Words (hyphens and apostrophes inside them allowed) and single punctuation marks."""
    return _TOKEN.findall(text)


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`: split after . ! or ? followed by a space or the end.

    A period after a known abbreviation ("Dr.", "e.g."), a single capital (an initial) or an
    initialism ("U.S.") does not end a sentence. Line breaks alone do not either, so a title line
    joins the sentence after it.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.group().startswith(".") and len(match.group().rstrip("\"'”’)]")) == 1:
            before = text[start : match.start()].split()
            word = before[-1].lstrip("(\"'") if before else ""
            last = word.lower()
            if last in _ABBREVIATIONS or (len(word) == 1 and word.isupper()) or _INITIALISM.match(last):
                continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_blocks(text: str, separator: re.Pattern[str] | str) -> list[str] | None:
    """Blocks of `text` between separators; None when a block in the middle is blank.

    Blank blocks at either end (a separator before the first or after the last block) are dropped.
    """
    blocks = separator.split(text) if isinstance(separator, re.Pattern) else text.split(separator)
    kept = []
    for index, block in enumerate(blocks):
        if block.strip():
            kept.append(block)
        elif 0 < index < len(blocks) - 1:
            return None
    return kept


def loose_variants(text: str) -> list[str]:
    """IFEval's loose-evaluation variants: without its first line, its last line, or both; without asterisks.

    The first variant is `text` itself, so whatever passes strict evaluation passes loose evaluation.
    """
    lines = text.split("\n")
    trimmed = [text, "\n".join(lines[1:]).strip(), "\n".join(lines[:-1]).strip(), "\n".join(lines[1:-1]).strip()]
    return trimmed + [variant.replace("*", "") for variant in trimmed]
