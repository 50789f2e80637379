"""Writes `judge_qa.jsonl`: `python gymhall/envs/judge_qa/data/generate.py`.

Deterministic (one seeded RNG), so re-running it reproduces the committed file byte for byte; the
test suite checks that. Five sources, each row naming its `difficulty`:

- `HANDWRITTEN`: general-knowledge questions written for this environment (their reference replies
  are phrased in several ways that all match after normalization); easy, a few medium.
- `ELEMENTS`: the periodic table (IUPAC names), asked four ways: an element's symbol, the element of
  a symbol, its atomic number, the element of a number. Tiered by atomic number (1-20 easy, 21-56
  medium, 57-118 hard); the three elements a hand-written question already asks about are left out.
- Roman numerals, both ways (computed): easy up to 40, medium up to 400, hard up to 3999.
- Weekdays (computed with `datetime`): easy counts days on from a weekday, medium names the weekday
  of a date in 1990-2030, hard of a date in 1753-1899 (Gregorian everywhere English was written).
- Day counts between two dates (computed): easy within a month, medium within a year, hard across
  years (leap days included).

Every fact is either written here or computed by the standard library: no download, no dependency.
"""

from __future__ import annotations

import datetime
import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "judge_qa.jsonl"
RNG_SEED = 20261206
INSTRUCTION = (
    "Answer the question below with a short answer: a word, a name, a number or a short phrase, with no explanation."
)

HANDWRITTEN: tuple[tuple[str, str, str, str], ...] = (  # question, expected answer, reference reply, difficulty
    ("What is the capital city of Australia?", "Canberra", "Canberra", "easy"),
    ("What is the chemical symbol for gold?", "Au", "\\boxed{Au}", "easy"),
    ("Which planet is known as the Red Planet?", "Mars", "Answer: Mars", "easy"),
    ('Who wrote the novel "Pride and Prejudice"?', "Jane Austen", "jane austen", "easy"),
    ("What is the largest ocean on Earth?", "Pacific Ocean", "The Pacific Ocean.", "easy"),
    ("What is the hardest naturally occurring mineral?", "diamond", "Diamond", "easy"),
    ("How many sides does a hexagon have?", "6", "6", "easy"),
    ("At sea level, at what temperature in degrees Celsius does water boil?", "100", "100", "easy"),
    ("Who painted the Mona Lisa?", "Leonardo da Vinci", "Leonardo da Vinci", "easy"),
    ("Which river carries the most water in South America?", "Amazon", "The Amazon.", "medium"),
    ("What is the currency of Japan?", "yen", "Yen", "easy"),
    ("What is the smallest prime number?", "2", "2", "easy"),
    ("Which gas do plants take in from the air for photosynthesis?", "carbon dioxide", "Carbon dioxide", "easy"),
    ("Which element has atomic number 1?", "hydrogen", "Hydrogen", "easy"),
    ("Who developed the general theory of relativity?", "Albert Einstein", "Albert Einstein", "easy"),
    ("What is the capital city of Canada?", "Ottawa", "Ottawa", "easy"),
    ("What is the largest planet in the Solar System?", "Jupiter", "Jupiter", "easy"),
    ("At what temperature in degrees Fahrenheit does water freeze?", "32", "32", "easy"),
    ("Which organelle is known as the powerhouse of the cell?", "mitochondria", "The mitochondria", "easy"),
    ('Who wrote the novel "Nineteen Eighty-Four"?', "George Orwell", "George Orwell", "easy"),
    ("What is the square root of 144?", "12", "\\boxed{12}", "easy"),
    ("What is the chemical formula of table salt?", "NaCl", "NaCl", "easy"),
    ('Who wrote the play "Romeo and Juliet"?', "William Shakespeare", "William Shakespeare.", "easy"),
    ("What is the capital city of Kenya?", "Nairobi", "Nairobi", "easy"),
    ("What is the SI unit of force?", "newton", "The newton", "easy"),
    ("What is the fastest land animal?", "cheetah", "The cheetah", "easy"),
    ("Who was the first person to walk on the Moon?", "Neil Armstrong", "Neil Armstrong", "easy"),
    ("What is the highest mountain on Earth above sea level?", "Mount Everest", "Mount Everest", "easy"),
    ("How many bones are in the typical adult human body?", "206", "206", "easy"),
    ("Which gas makes up most of Earth's atmosphere?", "nitrogen", "Nitrogen", "easy"),
    ("In what year did the Second World War end?", "1945", "1945", "easy"),
    (
        'Which composer wrote the opera "The Magic Flute"?',
        "Wolfgang Amadeus Mozart",
        "Wolfgang Amadeus Mozart",
        "medium",
    ),
    ("What is the capital city of Brazil?", "Brasília", "Brasilia", "easy"),
    ("What is the largest hot desert in the world?", "Sahara", "The Sahara", "easy"),
    ("What is the decimal number 10 written in binary?", "1010", "1010", "medium"),
    ("Which organ of the human body produces insulin?", "pancreas", "The pancreas", "easy"),
    ("Who discovered penicillin in 1928?", "Alexander Fleming", "Alexander Fleming", "medium"),
    ("What is the chemical symbol for iron?", "Fe", "Fe", "easy"),
    ("In which country is the city of Marrakesh?", "Morocco", "Morocco", "easy"),
    ("How many minutes are there in a day?", "1440", "1440", "easy"),
    ("What is the longest bone in the human body?", "femur", "The femur.", "easy"),
    ("Which Greek letter names the ratio of a circle's circumference to its diameter?", "pi", "Pi", "medium"),
    ('Who wrote "Don Quixote"?', "Miguel de Cervantes", "Miguel de Cervantes", "easy"),
    ("What is the capital city of Egypt?", "Cairo", "Cairo", "easy"),
    ("What is the SI unit of electrical resistance?", "ohm", "The ohm", "easy"),
    ("What is the largest animal that has ever lived?", "blue whale", "The blue whale", "easy"),
    (
        "Which astronomer proposed a Sun-centred model of the Solar System in 1543?",
        "Nicolaus Copernicus",
        "Nicolaus Copernicus",
        "medium",
    ),
    ("Which musical instrument usually has 88 keys?", "piano", "The piano", "easy"),
    ("Which planet has the most prominent ring system?", "Saturn", "Saturn", "easy"),
    ("What is the capital city of Argentina?", "Buenos Aires", "Buenos Aires", "easy"),
    ("What is the sum of the interior angles of a triangle, in degrees?", "180", "180", "easy"),
    ('What is the plural of "mouse"?', "mice", "mice", "easy"),
    ("Which metal is liquid at room temperature?", "mercury", "Mercury", "easy"),
    ('Who wrote "On the Origin of Species"?', "Charles Darwin", "Charles Darwin", "easy"),
    ("What is the largest country in the world by area?", "Russia", "Russia", "easy"),
    ("What is the freezing point of water in kelvins, to two decimal places?", "273.15", "273.15", "medium"),
    ("What is 15% of 200?", "30", "30", "easy"),
    ("How many players does a standard soccer team have on the field?", "11", "Answer: 11", "easy"),
)

ELEMENTS = (  # symbol and IUPAC name; the atomic number is the position from 1
    "H Hydrogen He Helium Li Lithium Be Beryllium B Boron C Carbon N Nitrogen O Oxygen F Fluorine Ne Neon "
    "Na Sodium Mg Magnesium Al Aluminium Si Silicon P Phosphorus S Sulfur Cl Chlorine Ar Argon K Potassium "
    "Ca Calcium Sc Scandium Ti Titanium V Vanadium Cr Chromium Mn Manganese Fe Iron Co Cobalt Ni Nickel "
    "Cu Copper Zn Zinc Ga Gallium Ge Germanium As Arsenic Se Selenium Br Bromine Kr Krypton Rb Rubidium "
    "Sr Strontium Y Yttrium Zr Zirconium Nb Niobium Mo Molybdenum Tc Technetium Ru Ruthenium Rh Rhodium "
    "Pd Palladium Ag Silver Cd Cadmium In Indium Sn Tin Sb Antimony Te Tellurium I Iodine Xe Xenon "
    "Cs Caesium Ba Barium La Lanthanum Ce Cerium Pr Praseodymium Nd Neodymium Pm Promethium Sm Samarium "
    "Eu Europium Gd Gadolinium Tb Terbium Dy Dysprosium Ho Holmium Er Erbium Tm Thulium Yb Ytterbium "
    "Lu Lutetium Hf Hafnium Ta Tantalum W Tungsten Re Rhenium Os Osmium Ir Iridium Pt Platinum Au Gold "
    "Hg Mercury Tl Thallium Pb Lead Bi Bismuth Po Polonium At Astatine Rn Radon Fr Francium Ra Radium "
    "Ac Actinium Th Thorium Pa Protactinium U Uranium Np Neptunium Pu Plutonium Am Americium Cm Curium "
    "Bk Berkelium Cf Californium Es Einsteinium Fm Fermium Md Mendelevium No Nobelium Lr Lawrencium "
    "Rf Rutherfordium Db Dubnium Sg Seaborgium Bh Bohrium Hs Hassium Mt Meitnerium Ds Darmstadtium "
    "Rg Roentgenium Cn Copernicium Nh Nihonium Fl Flerovium Mc Moscovium Lv Livermorium Ts Tennessine Og Oganesson"
).split()
ASKED_BY_HAND = {"H", "Au", "Fe"}
ELEMENT_QUESTIONS = (
    ("What is the chemical symbol of the element {name}?", "{symbol}"),
    ("Which chemical element has the symbol {symbol}?", "{name}"),
    ("What is the atomic number of {name}?", "{number}"),
    ("Which chemical element has atomic number {number}?", "{name}"),
)
MONTHS = "January February March April May June July August September October November December".split()
WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
ROMAN: tuple[tuple[int, str], ...] = (
    *((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL")),
    *((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")),
)
PER_TIER = {"roman": 30, "weekday": 20, "weekday_date": 30, "span": 20}


def roman(number: int) -> str:
    """`number` (1..3999) in Roman numerals."""
    digits = []
    for value, letters in ROMAN:
        count, number = divmod(number, value)
        digits.append(letters * count)
    return "".join(digits)


def _prose(day: datetime.date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _date(rng: random.Random, first_year: int, last_year: int) -> datetime.date:
    start = datetime.date(first_year, 1, 1).toordinal()
    return datetime.date.fromordinal(rng.randint(start, datetime.date(last_year, 12, 31).toordinal()))


def elements(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """Two questions about each element, tiered by atomic number."""
    for number, (symbol, name) in enumerate(zip(ELEMENTS[::2], ELEMENTS[1::2], strict=True), 1):
        if symbol in ASKED_BY_HAND:
            continue
        tier = "easy" if number <= 20 else "medium" if number <= 56 else "hard"
        for question, answer in rng.sample(ELEMENT_QUESTIONS, 2):
            fields = {"symbol": symbol, "name": name, "number": number}
            yield question.format(**fields), answer.format(**fields), tier


def numerals(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """Roman numerals written and read, in three ranges."""
    for tier, low, high in (("easy", 1, 40), ("medium", 41, 400), ("hard", 401, 3999)):
        for number in rng.sample(range(low, high + 1), PER_TIER["roman"]):
            if rng.random() < 0.5:
                yield f"How is the number {number} written in Roman numerals?", roman(number), tier
            else:
                yield f"What number does the Roman numeral {roman(number)} stand for?", str(number), tier


def weekdays(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """Weekdays: counted on from a weekday (easy), of a recent date (medium), of an old one (hard)."""
    pairs = [(start, later) for start in range(7) for later in range(2, 61)]
    for start, later in rng.sample(pairs, PER_TIER["weekday"]):
        question = f"If today is a {WEEKDAYS[start]}, what day of the week will it be in {later} days?"
        yield question, WEEKDAYS[(start + later) % 7], "easy"
    # From 1753 on: Britain and its colonies took the Gregorian calendar in 1752, so no date is ambiguous.
    for tier, first, last in (("medium", 1990, 2030), ("hard", 1753, 1899)):
        days = {_date(rng, first, last) for _ in range(PER_TIER["weekday_date"] * 2)}
        for day in sorted(days)[: PER_TIER["weekday_date"]]:
            question = f"On what day of the week is {_prose(day)} in the Gregorian calendar?"
            yield question, WEEKDAYS[day.weekday()], tier


def spans(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """Days from one date to a later one: within a month, within a year, across years."""
    asked: set[str] = set()
    for tier, first_gap, last_gap in (("easy", 1, 27), ("medium", 32, 330), ("hard", 400, 3000)):
        while sum(question.endswith(tier) for question in asked) < PER_TIER["span"]:
            first = _date(rng, 1950, 2040)
            last = first + datetime.timedelta(days=rng.randint(first_gap, last_gap))
            if tier == "easy" and last.month != first.month or tier == "medium" and last.year != first.year:
                continue  # easy rows stay within a month, medium ones within a year
            question = f"How many days after {_prose(first)} is {_prose(last)}?"
            if question + tier not in asked:
                asked.add(question + tier)
                yield question, str((last - first).days), tier


def _reply(rng: random.Random, answer: str) -> str:
    """A reference reply: the answer as is or in one of the forms the rule check reads."""
    form = rng.choice(["{}", "{}", "Answer: {}", "\\boxed{{{}}}", "{}."])
    # "Y." reversed is ".Y", still the answer: the conformance check's reversed-answer probe needs a longer one.
    return (form if len(answer) > 2 or form != "{}." else "{}").format(answer)


def _row(question: str, expected: str, reply: str, tier: str) -> dict[str, Any]:
    return {
        "responses_create_params": {"input": [{"role": "user", "content": f"{INSTRUCTION}\n\n{question}"}]},
        "question": question,
        "expected_answer": expected,
        "difficulty": tier,
        "reference_solution": {"tool_calls": [], "answer": reply},
    }


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order: the hand-written ones first, then each computed source."""
    rng = random.Random(RNG_SEED)
    rows = [_row(*entry) for entry in HANDWRITTEN]
    for source in (elements, numerals, weekdays, spans):
        rows += [_row(question, answer, _reply(rng, answer), tier) for question, answer, tier in source(rng)]
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The JSONL text of `rows`."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main() -> int:
    rows = build_rows()
    OUTPUT.write_text(render(rows), encoding="utf-8")
    print(f"wrote {len(rows)} rows to {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
