"""Generate `instruction_following.jsonl`: seeded, deterministic, every reference answer checked.

    python gymhall/envs/instruction_following/data/generate.py           # rewrite the dataset
    python gymhall/envs/instruction_following/data/generate.py --check   # exit 1 if it is stale

Each row asks for a short text on one topic under 1 to 3 instructions. Its reference answer is
built from the topic's sentences so that it follows every instruction: structural instructions
(title, paragraphs, bullets, ...) shape the answer, and counting instructions (words, letters,
keyword frequency, ...) take their thresholds from the finished answer. The checkers then confirm
that the answer follows all of them and that no trivial answer (empty, a refusal, one word) does,
and `conflicts.py` that no two of them contradict each other; a draft that fails is drawn again
from the same seeded generator.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gymhall.envs.instruction_following.conflicts import conflicts_of, may_combine
from gymhall.envs.instruction_following.instructions import (
    build_instruction,
    count_words,
    loose_variants,
    split_sentences,
    word_tokens,
)

SEED = 20_240_611
ROWS = 600
# Answers that follow no request: each row must score them below its reference.
TRIVIAL_ANSWERS = ("", "I'm sorry, but I can't help with that.", "garbage", "Okay.")
OUTPUT = Path(__file__).resolve().parent / "instruction_following.jsonl"
# Rows written by hand, appended after the generated ones (see the README); optional.
HAND_WRITTEN = Path(__file__).resolve().parent / "hand_written.jsonl"


@dataclass(frozen=True)
class Topic:
    """Material for answers: a request, a yes/no question answered yes, and plain comma-free sentences."""

    title: str
    task: str
    question: str
    sentences: tuple[str, ...]
    postscript: str


TOPICS = (
    Topic(
        "A Short History of Tea",
        "Write a short explainer about the history of tea.",
        "Did people drink tea in China long before it reached Europe?",
        (
            "Tea was first brewed in China thousands of years ago.",
            "Early drinkers boiled the leaves as a kind of medicine.",
            "Buddhist monks carried the plant and its rituals to Japan.",
            "Dutch traders brought the first chests of tea to Europe.",
            "The drink soon became a fashion in London coffee houses.",
            "Large estates in India and Ceylon later grew tea for export.",
            "Today tea is the most popular drink after water.",
            "Green and black tea come from the very same plant.",
        ),
        "Try a cup of green tea brewed at a lower temperature.",
    ),
    Topic(
        "How Bees Make Honey",
        "Explain how honey bees turn nectar into honey.",
        "Do honey bees store honey to survive the winter?",
        (
            "Forager bees collect nectar from flowers with their long tongues.",
            "They carry the nectar home in a special honey stomach.",
            "House bees pass the nectar from mouth to mouth in the hive.",
            "Enzymes from the bees slowly change the sugars in the nectar.",
            "The bees fan their wings to dry the nectar in open cells.",
            "When the honey is thick enough they seal each cell with wax.",
            "A strong colony can store many kilograms of honey in a summer.",
            "The stored honey feeds the whole colony through the cold months.",
        ),
        "Local honey often tastes of the flowers that grow nearby.",
    ),
    Topic(
        "Keepers of the Light",
        "Describe what life was like for a lighthouse keeper.",
        "Did lighthouse keepers often live at the lighthouse itself?",
        (
            "Lighthouse keepers lived in small cottages beside the tower.",
            "Every evening they climbed the stairs to light the lamp.",
            "The lamp needed fresh oil and clean glass through the night.",
            "Keepers wound the clockwork that turned the heavy lens.",
            "In fog they sounded a horn to warn passing ships.",
            "Supply boats brought food and letters when the sea was calm.",
            "Many keepers kept careful logs of the weather each day.",
            "Automatic lamps slowly replaced the keepers in the last century.",
        ),
        "Several old lighthouses now welcome visitors in the summer.",
    ),
    Topic(
        "Baking Sourdough at Home",
        "Give a beginner an overview of baking sourdough bread.",
        "Can a beginner bake good sourdough bread at home?",
        (
            "Sourdough rises with wild yeast instead of packaged yeast.",
            "A starter is a simple mix of flour and water left to ferment.",
            "Feeding the starter every day keeps the yeast lively.",
            "The dough rests for hours so the flavour can develop.",
            "Gentle folds during the rest build strength in the dough.",
            "A hot oven and a covered pot give the loaf a crisp crust.",
            "The bread should cool completely before anyone slices it.",
            "Patience matters more than fancy tools for a good loaf.",
        ),
        "Keep a little starter back each time so you never run out.",
    ),
    Topic(
        "Composting in a Small Garden",
        "Explain how to start composting in a small garden.",
        "Can kitchen scraps be turned into useful compost?",
        (
            "Compost turns kitchen scraps and garden waste into rich soil.",
            "A good heap mixes green material with brown material.",
            "Fruit peels and grass clippings count as green material.",
            "Dry leaves and plain cardboard count as brown material.",
            "Turning the heap every week lets air reach the microbes.",
            "The heap should feel as damp as a squeezed sponge.",
            "Worms and fungi break the material down over a few months.",
            "Finished compost smells sweet and looks dark and crumbly.",
        ),
        "A lid on the bin keeps the heap warm and the rain out.",
    ),
    Topic(
        "The Water Cycle",
        "Describe the water cycle for a curious student.",
        "Does the same water move around the planet again and again?",
        (
            "The sun warms oceans and lakes until water turns into vapour.",
            "Warm moist air rises and cools as it climbs higher.",
            "The cooling vapour gathers into tiny droplets that form clouds.",
            "When the droplets grow heavy they fall as rain or snow.",
            "Rivers carry much of that water back toward the sea.",
            "Some water soaks into the ground and feeds hidden springs.",
            "Plants also release water through their leaves on warm days.",
            "The same water has travelled this loop for millions of years.",
        ),
        "Watch a puddle on a sunny day to see evaporation at work.",
    ),
    Topic(
        "Learning to Juggle",
        "Give advice to someone learning to juggle three balls.",
        "Can most people learn to juggle three balls with practice?",
        (
            "Start with a single ball and toss it from hand to hand.",
            "Each throw should peak just above eye level.",
            "Add a second ball once the first throw feels steady.",
            "Throw the second ball when the first one reaches its peak.",
            "Three balls follow the same rhythm with one extra throw.",
            "Practising over a bed saves a lot of bending down.",
            "Short daily sessions work better than one long session.",
            "Most learners manage their first clean run within a week.",
        ),
        "Bean bags are easier to catch than bouncy balls.",
    ),
    Topic(
        "A Night Under the Stars",
        "Write a guide to a first night of stargazing.",
        "Can you see planets without a telescope?",
        (
            "Find a dark place far from street lights and busy roads.",
            "Give your eyes twenty minutes to adjust to the darkness.",
            "A red torch keeps your night vision while you read a map.",
            "The brightest points that do not twinkle are often planets.",
            "A pair of binoculars reveals craters on the moon.",
            "Meteor showers are best watched lying flat on a blanket.",
            "Warm clothes matter because clear nights are often cold.",
            "A simple star chart helps you name the constellations.",
        ),
        "Check the phase of the moon because a full moon hides faint stars.",
    ),
    Topic(
        "Caring for a Bicycle",
        "Explain the basic care a bicycle needs.",
        "Does a bicycle last longer with regular care?",
        (
            "Check the tyre pressure before every longer ride.",
            "A clean chain shifts smoothly and wears out more slowly.",
            "Wipe the chain and add a few drops of oil every few weeks.",
            "Brake pads should be replaced before they wear down to metal.",
            "Loose bolts often announce themselves with a rattle.",
            "Store the bicycle indoors to keep rust away from the parts.",
            "A yearly service catches problems that are hard to spot.",
            "Well kept bicycles can serve their riders for decades.",
        ),
        "Carry a small pump and a spare tube on long rides.",
    ),
    Topic(
        "The Clever Octopus",
        "Write a short piece about why octopuses are considered clever.",
        "Are octopuses able to solve simple puzzles?",
        (
            "Octopuses have large brains for animals without a backbone.",
            "Most of their nerve cells sit in their eight arms.",
            "They can change the colour and texture of their skin in a moment.",
            "Some octopuses carry coconut shells to use as shelters.",
            "In aquariums they have learned to open screw top jars.",
            "They recognise individual keepers and treat them differently.",
            "An octopus lives only a year or two in the wild.",
            "Scientists still debate how these animals experience the world.",
        ),
        "Public aquariums often feed their octopuses puzzle toys.",
    ),
    Topic(
        "Why Libraries Matter",
        "Argue briefly why public libraries still matter.",
        "Do public libraries still serve their communities today?",
        (
            "Public libraries lend books to anyone who walks in.",
            "They offer free internet access to people without a connection.",
            "Librarians help visitors find reliable information.",
            "Children discover a love of reading at story time.",
            "Quiet rooms give students a place to study.",
            "Many libraries now lend tools and musical instruments.",
            "Local history collections keep the memory of a town alive.",
            "A library card remains one of the best free passes in town.",
        ),
        "Ask your library about its digital lending service.",
    ),
    Topic(
        "The Art of Origami",
        "Introduce the art of origami to a beginner.",
        "Can a beginner fold a paper crane in one afternoon?",
        (
            "Origami is the art of folding paper into shapes.",
            "Traditional models use a single square sheet without cuts.",
            "The paper crane is the most famous origami model.",
            "Crisp folds make the later steps much easier.",
            "Diagrams use arrows and dotted lines to show each fold.",
            "Thin paper works best for models with many layers.",
            "Engineers borrow origami ideas to fold solar panels for space.",
            "Even simple models teach patience and careful attention.",
        ),
        "Start with a paper cup before you try the crane.",
    ),
    Topic(
        "Life on a Coral Reef",
        "Describe life on a coral reef.",
        "Are coral reefs home to a large share of ocean life?",
        (
            "Coral reefs are built by tiny animals called polyps.",
            "Each polyp lays down a hard skeleton of limestone.",
            "Algae living inside the coral give it food and colour.",
            "Reefs shelter about a quarter of all ocean species.",
            "Parrotfish graze on the reef and grind coral into sand.",
            "Warm water can make the coral expel its algae and turn white.",
            "Healthy reefs protect coasts from the force of waves.",
            "Careful divers never touch the fragile coral.",
        ),
        "Choose reef safe sunscreen when you swim near coral.",
    ),
    Topic(
        "Opening Moves in Chess",
        "Explain the ideas behind good opening moves in chess.",
        "Is controlling the centre important in the chess opening?",
        (
            "The opening is the first stage of a game of chess.",
            "Good openings fight for control of the centre squares.",
            "Knights and bishops should leave their starting squares early.",
            "Castling tucks the king away behind a wall of pawns.",
            "Moving the same piece twice often wastes valuable time.",
            "Bringing the queen out too early invites attacks on her.",
            "Each opening leads to its own typical plans.",
            "Understanding the ideas matters more than memorising moves.",
        ),
        "Play through a few master games to see these ideas in action.",
    ),
    Topic(
        "Walking in the Rainforest",
        "Describe what a visitor notices on a walk through a rainforest.",
        "Does a rainforest stay warm and humid all year?",
        (
            "The air in a rainforest feels warm and heavy with moisture.",
            "Tall trees form a roof of leaves far above the ground.",
            "Little sunlight reaches the dim forest floor.",
            "Vines climb the trunks in search of light.",
            "Frogs and insects call from every direction after rain.",
            "Fallen leaves rot quickly in the constant warmth.",
            "Many medicines first came from rainforest plants.",
            "Local guides spot animals that visitors walk straight past.",
        ),
        "Bring a light rain jacket because showers arrive without warning.",
    ),
    Topic(
        "The First Printing Presses",
        "Explain why the printing press changed the way people shared ideas.",
        "Did the printing press make books much cheaper?",
        (
            "Before the press every book was copied out by hand.",
            "Johannes Gutenberg built a press with movable metal type.",
            "A single workshop could now print hundreds of pages a day.",
            "Cheaper books reached merchants and students as well as scholars.",
            "News sheets and pamphlets spread arguments across whole countries.",
            "Printers soon agreed on common spellings for many words.",
            "Scientists could share exact diagrams without copying errors.",
            "Within fifty years presses were running in most large European towns.",
        ),
        "Many early printed books still survive in public libraries.",
    ),
    Topic(
        "Growing Tomatoes",
        "Give practical tips for growing tomatoes on a balcony.",
        "Can tomatoes grow well in pots on a sunny balcony?",
        (
            "Tomatoes need at least six hours of sun each day.",
            "A deep pot gives the roots room to spread.",
            "Water the soil rather than the leaves to prevent disease.",
            "A cane or a cage keeps the heavy stems upright.",
            "Pinching out side shoots sends energy into the fruit.",
            "A liquid feed once a week helps the plants flower.",
            "The fruit ripens best when it stays on the vine.",
            "Cherry varieties are the easiest choice for small spaces.",
        ),
        "Save a few seeds from your best fruit for next year.",
    ),
    Topic(
        "How Vaccines Work",
        "Explain to a teenager how vaccines protect the body.",
        "Do vaccines train the immune system to recognise germs?",
        (
            "A vaccine shows the immune system a harmless piece of a germ.",
            "White blood cells learn to recognise the shape of that piece.",
            "The body then makes antibodies that stick to the germ.",
            "Memory cells keep the lesson for months or even years.",
            "A later infection meets a defence that is already prepared.",
            "Some vaccines need a booster to refresh that memory.",
            "When most people are protected a disease struggles to spread.",
            "Scientists test each vaccine carefully before it is approved.",
        ),
        "Keep a record of your vaccinations in a safe place.",
    ),
    Topic(
        "Migrating Birds",
        "Describe how birds find their way on long migrations.",
        "Do some birds fly thousands of kilometres every year?",
        (
            "Many birds fly south when the days grow short.",
            "They follow coastlines and rivers like roads on a map.",
            "Some species read the position of the sun during the day.",
            "Others steer by the stars on clear nights.",
            "Birds can also sense the magnetic field of the earth.",
            "Young birds often learn the route by flying with older ones.",
            "Wetlands along the way give them places to rest and feed.",
            "The arctic tern travels farther than any other bird.",
        ),
        "Early spring mornings are a good time to watch birds return.",
    ),
    Topic(
        "Saving Energy at Home",
        "Suggest simple ways a family can save energy at home.",
        "Can small daily habits lower a household energy bill?",
        (
            "Switching off lights in empty rooms is the easiest saving.",
            "Washing clothes at a lower temperature uses less power.",
            "Thick curtains keep heat inside on winter evenings.",
            "A lid on the pan makes water boil much faster.",
            "Efficient bulbs last years longer than old ones.",
            "Devices left on standby still draw a little power.",
            "Sealing gaps around doors stops cold draughts.",
            "A smart meter shows which appliances use the most energy.",
        ),
        "Try a week of tracking your meter readings each evening.",
    ),
    Topic(
        "The Story of Chocolate",
        "Write a short history of chocolate.",
        "Was chocolate first enjoyed as a drink?",
        (
            "Chocolate comes from the seeds of the cacao tree.",
            "The Maya and Aztecs brewed the seeds into a bitter drink.",
            "Cacao beans were once valuable enough to use as money.",
            "Spanish travellers carried the drink back to Europe.",
            "Sugar made the drink popular in European courts.",
            "Factories later pressed the beans into solid bars.",
            "Milk chocolate appeared in Switzerland in the nineteenth century.",
            "Most cacao today grows in West Africa.",
        ),
        "Dark chocolate with a high cacao share has the strongest flavour.",
    ),
    Topic(
        "Running a First Five Kilometres",
        "Give a plan for someone training to run their first five kilometres.",
        "Can a beginner train for a five kilometre run in two months?",
        (
            "Start by mixing short runs with periods of walking.",
            "Three sessions a week leave time for the body to recover.",
            "Each week the running periods can grow a little longer.",
            "A slow pace that allows conversation is the right pace.",
            "Good shoes matter more than any other piece of kit.",
            "Stretching gently after each run eases stiff muscles.",
            "Rest days are part of the plan and not a failure.",
            "Most beginners can run the full distance after eight weeks.",
        ),
        "Sign up for a local park run to enjoy the finish with others.",
    ),
    Topic(
        "Volunteering in the Community",
        "Explain the benefits of volunteering in a local community.",
        "Does volunteering help the volunteers as well as others?",
        (
            "Volunteers give their time to causes they care about.",
            "Food banks rely on helpers to sort and pack donations.",
            "Reading with children builds their confidence at school.",
            "Volunteering often leads to new friendships.",
            "People learn practical skills that help in their careers.",
            "Even one hour a month can make a real difference.",
            "Local charities usually offer training for new helpers.",
            "Studies link regular volunteering with better wellbeing.",
        ),
        "Ask a local charity what kind of help it needs most.",
    ),
    Topic(
        "Exploring Mars",
        "Describe what robots have taught us about Mars.",
        "Have robotic rovers found signs that Mars once had water?",
        (
            "Mars is a cold desert world with a thin atmosphere.",
            "Rovers have driven across its surface for many years.",
            "They found rocks that formed in ancient lakes and rivers.",
            "Dust storms sometimes cover the whole planet for weeks.",
            "A small helicopter once flew in the thin Martian air.",
            "Orbiters map the surface from high above.",
            "Scientists study the samples for signs of past life.",
            "Future missions may bring rocks back to the earth.",
        ),
        "Look for Mars as a reddish point in the night sky.",
    ),
    Topic(
        "Writing a Good Letter",
        "Give advice on writing a thoughtful handwritten letter.",
        "Can a handwritten letter mean more than a quick message?",
        (
            "A handwritten letter shows that the writer took time.",
            "Begin by greeting the reader in a warm and simple way.",
            "Share a recent moment that the reader would enjoy.",
            "Ask a question so the reader has a reason to reply.",
            "Short paragraphs make the letter easy to read.",
            "Good paper and a steady pen make the page look neat.",
            "End with a kind wish for the weeks ahead.",
            "Letters are often kept and read again for years.",
        ),
        "Keep a few stamps at home so a letter is easy to send.",
    ),
)

INTRODUCTIONS = (
    "Follow these constraints in your answer:",
    "Your response must satisfy the following:",
    "Keep to these rules when you answer:",
)
END_PHRASES = (
    "Is there anything else I can help with?",
    "Any other questions?",
    "Let me know if you would like to hear more.",
)
PLACEHOLDERS = ("name", "date", "address", "city", "email", "phone number")
FORBIDDEN_VOCABULARY = (
    "banana", "guitar", "volcano", "pencil", "tiger", "desert", "rocket", "castle", "violin", "glacier",
    "umbrella", "penguin", "marble", "saddle", "lantern", "compass",
)  # fmt: skip


@dataclass
class Draft:
    """The shape of a reference answer, set by the chosen instructions, then rendered."""

    topic: Topic
    rng: random.Random
    task: str
    paragraphs: int = 1
    separator: str = "\n\n"
    title: bool = False
    opening: str = ""
    bullets: int = 0
    highlights: int = 0
    sections: str = ""
    placeholders: int = 0
    postscript: str = ""
    end_phrase: str = ""
    quote: bool = False
    case: str = ""
    capitals: int = 0
    json: bool = False
    two_responses: bool = False
    repeat: bool = False
    only: str = ""

    def render(self) -> str:
        sentences = list(self.topic.sentences)
        self.rng.shuffle(sentences)
        if self.only:  # constrained_response: the answer is one of its options, nothing more
            return f'"{self.only}"' if self.quote else self.only
        first = self._body(sentences[:5])
        text = first
        if self.two_responses:
            text = first + "\n******\n" + self._body(sentences[5:8], extras=False)
        if self.json:
            payload = json.dumps({"answer": " ".join(sentences[:4])}, ensure_ascii=False)
            text = f"```json\n{payload}\n```" if self.rng.random() < 0.5 else payload
        if self.repeat:
            text = f"{self.task}\n{text}"
        if self.case == "upper":
            text = text.upper()
        elif self.case == "lower":
            text = text.lower()
        return f'"{text}"' if self.quote else text

    def _body(self, sentences: list[str], extras: bool = True) -> str:
        pool = sentences[:]
        spare = [s for s in self.topic.sentences if s not in pool]
        if self.highlights and extras:  # not the first sentence: its first word stays a plain word
            pool[1 : 1 + self.highlights] = [f"*{s}*" for s in pool[1 : 1 + self.highlights]]
        if self.capitals and extras:
            pool[0] = _capitalize_words(pool[0], self.capitals, self.rng)
        blocks = _spread(pool, self.paragraphs)
        if extras:
            if self.opening:
                blocks[0] = f"{self.opening} {blocks[0]}"
            if self.bullets:
                blocks[0] += "\n" + "\n".join(f"* {s}" for s in spare[: self.bullets])
            if self.placeholders:
                names = self.rng.sample(PLACEHOLDERS, self.placeholders)
                blocks[-1] += " Before you share this note fill in " + " and ".join(f"[{n}]" for n in names) + "."
            if self.sections:
                blocks = [f"{self.sections} {i}\n{block}" for i, block in enumerate(blocks, start=1)]
        text = self.separator.join(blocks)
        if extras:
            if self.title:
                text = f"<<{self.topic.title}>>\n{text}"
            if self.postscript:
                text += f"\n{self.postscript} {self.topic.postscript}"
            if self.end_phrase:
                text += f" {self.end_phrase}"
        return text


def _spread(sentences: list[str], paragraphs: int) -> list[str]:
    """`sentences` as `paragraphs` blocks of consecutive sentences, each non-empty."""
    size, extra = divmod(len(sentences), paragraphs)
    blocks, start = [], 0
    for index in range(paragraphs):
        end = start + size + (1 if index < extra else 0)
        blocks.append(" ".join(sentences[start:end]))
        start = end
    return blocks


def _capitalize_words(sentence: str, count: int, rng: random.Random) -> str:
    words = sentence.split(" ")
    candidates = [i for i, word in enumerate(words) if len(word.strip(".*")) >= 4 and word.strip(".*").isalpha()]
    for index in rng.sample(candidates, min(count, len(candidates))):
        words[index] = words[index].upper()
    return " ".join(words)


# --- instructions: how each shapes the draft, or measures the finished answer ---------------------

Shape = Callable[[Draft], dict[str, Any]]
Measure = Callable[[str, Draft], dict[str, Any] | None]


def _shape_paragraphs(count: int | None, separator: str) -> Shape:
    def shape(draft: Draft) -> dict[str, Any]:
        draft.paragraphs = count or draft.rng.randint(2, 4)
        draft.separator = separator
        return {"num_paragraphs": draft.paragraphs} if count is None else {}

    return shape


def _shape_sections(draft: Draft) -> dict[str, Any]:
    draft.sections = draft.rng.choice(("Section", "SECTION"))
    draft.paragraphs = draft.rng.randint(2, 3)
    return {"section_spliter": draft.sections, "num_sections": draft.paragraphs}


def _shape_nth_paragraph(draft: Draft) -> dict[str, Any]:
    draft.paragraphs = draft.rng.randint(2, 4)
    draft.separator = "\n\n"
    return {}


def _set(**values: Any) -> Shape:
    def shape(draft: Draft) -> dict[str, Any]:
        for name, value in values.items():
            setattr(draft, name, value)
        return {}

    return shape


def _shape_count(attribute: str, low: int, high: int, kwarg: str) -> Shape:
    def shape(draft: Draft) -> dict[str, Any]:
        value = draft.rng.randint(low, high)
        setattr(draft, attribute, value)
        return {kwarg: value}

    return shape


def _shape_postscript(draft: Draft) -> dict[str, Any]:
    marker = draft.rng.choice(("P.S.", "P.P.S"))
    draft.postscript = marker
    return {"postscript_marker": marker}


def _shape_end(draft: Draft) -> dict[str, Any]:
    draft.end_phrase = draft.rng.choice(END_PHRASES)
    return {"end_phrase": draft.end_phrase}


def _shape_repeat(draft: Draft) -> dict[str, Any]:
    draft.repeat = True
    return {"prompt_to_repeat": draft.task}


def _shape_constrained(draft: Draft) -> dict[str, Any]:
    draft.task = draft.topic.question
    draft.only = "My answer is yes."
    return {}


def _shape_capital_frequency(draft: Draft) -> dict[str, Any]:
    draft.capitals = draft.rng.randint(2, 3)
    return {}


def _threshold(actual: int, rng: random.Random, below: int, above: int) -> tuple[str, int]:
    """A relation and threshold that `actual` satisfies: "at least" up to `below` under it, or "less than" over it."""
    if actual >= 1 and rng.random() < 0.5:
        return "at least", max(1, actual - rng.randint(0, below))
    return "less than", actual + rng.randint(1, above)


def _content_words(answer: str, draft: Draft, minimum: int) -> list[str]:
    """Words of the topic's sentences (not of markup such as ```json) that the answer uses."""
    topic_words = {w.lower() for s in draft.topic.sentences for w in re.findall(r"[A-Za-z]+", s) if len(w) >= minimum}
    return sorted(topic_words & {w.lower() for w in re.findall(r"[A-Za-z]+", answer)})


def _measure_keywords(answer: str, draft: Draft) -> dict[str, Any] | None:
    words = _content_words(answer, draft, 6)
    if len(words) < 2:
        return None
    return {"keywords": draft.rng.sample(words, draft.rng.randint(1, 2))}


def _measure_keyword_frequency(answer: str, draft: Draft) -> dict[str, Any]:
    keyword = draft.rng.choice(_content_words(answer, draft, 4))
    relation, frequency = _threshold(answer.lower().count(keyword), draft.rng, 1, 2)
    return {"keyword": keyword, "frequency": frequency, "relation": relation}


def _measure_forbidden(answer: str, draft: Draft) -> dict[str, Any]:
    absent = [w for w in FORBIDDEN_VOCABULARY if not re.search(rf"\b{w}\b", answer, flags=re.IGNORECASE)]
    return {"forbidden_words": sorted(draft.rng.sample(absent, 2))}


def _measure_letter_frequency(answer: str, draft: Draft) -> dict[str, Any]:
    letter = draft.rng.choice("aeilnorst")
    relation, frequency = _threshold(answer.lower().count(letter), draft.rng, 5, 6)
    return {"letter": letter, "let_frequency": frequency, "let_relation": relation}


def _measure_words(answer: str, draft: Draft) -> dict[str, Any]:
    relation, count = _threshold(count_words(answer), draft.rng, 10, 40)
    return {"num_words": count, "relation": relation}


def _measure_sentences(answer: str, draft: Draft) -> dict[str, Any]:
    relation, count = _threshold(len(split_sentences(answer)), draft.rng, 2, 3)
    return {"num_sentences": count, "relation": relation}


def _measure_letters(answer: str, draft: Draft) -> dict[str, Any]:
    relation, count = _threshold(len(re.findall(r"[a-zA-Z]", answer)), draft.rng, 30, 60)
    return {"N": count, "relation": relation}


def _measure_capitals(answer: str, draft: Draft) -> dict[str, Any]:
    capitals = sum(1 for token in word_tokens(answer) if token.isupper())
    relation, count = _threshold(capitals, draft.rng, 1, 3)
    return {"capital_frequency": count, "capital_relation": relation}


def _measure_first_word(answer: str, draft: Draft) -> dict[str, Any] | None:
    words = answer.split()
    return {"first_word": words[0].lower()} if words and words[0].isalpha() else None


def _measure_last_word(answer: str, draft: Draft) -> dict[str, Any] | None:
    words = answer.split()
    last = re.sub(r"[^\w\s]", "", words[-1]).lower() if words else ""
    return {"last_word": last} if last.isalpha() else None


def _measure_nth_paragraph(answer: str, draft: Draft) -> dict[str, Any] | None:
    nth = draft.rng.randint(1, draft.paragraphs)
    paragraph = answer.split("\n\n")[nth - 1].strip()
    word = re.split(r"[.,?!'\"]", paragraph.split()[0], maxsplit=1)[0].lower()
    if not word.isalpha():
        return None
    return {"num_paragraphs": draft.paragraphs, "nth_paragraph": nth, "first_word": word}


def _measure_lowercase_words(answer: str, draft: Draft) -> dict[str, Any]:
    return {"N": len(re.findall(r"\b[a-z]+\b", answer)) + draft.rng.randint(0, 8)}


@dataclass(frozen=True)
class Spec:
    """How the generator satisfies one instruction id."""

    shape: Shape | None = None
    measure: Measure | None = None
    weight: int = 1


SPECS: dict[str, Spec] = {
    "detectable_format:title": Spec(_set(title=True)),
    "length_constraints:number_paragraphs": Spec(_shape_paragraphs(None, "\n***\n")),
    "paragraphs:paragraphs": Spec(_shape_paragraphs(2, "\n***\n")),
    "paragraphs:paragraphs2": Spec(_shape_paragraphs(2, "\n\n")),
    "length_constraints:nth_paragraph_first_word": Spec(_shape_nth_paragraph, _measure_nth_paragraph),
    "detectable_format:multiple_sections": Spec(_shape_sections),
    "detectable_format:number_bullet_lists": Spec(_shape_count("bullets", 2, 3, "num_bullets")),
    "detectable_format:number_highlighted_sections": Spec(_shape_count("highlights", 1, 3, "num_highlights")),
    "detectable_content:number_placeholders": Spec(_shape_count("placeholders", 1, 3, "num_placeholders")),
    "detectable_content:postscript": Spec(_shape_postscript),
    "detectable_format:constrained_response": Spec(_shape_constrained),
    "startend:end_checker": Spec(_shape_end),
    "startend:quotation": Spec(_set(quote=True)),
    "change_case:english_lowercase": Spec(_set(case="lower")),
    "change_case:english_capital": Spec(_set(case="upper")),
    "change_case:capital_word_frequency": Spec(_shape_capital_frequency, _measure_capitals),
    "combination:two_responses": Spec(_set(two_responses=True)),
    "combination:repeat_prompt": Spec(_shape_repeat),
    "detectable_format:json_format": Spec(_set(json=True)),
    "punctuation:no_comma": Spec(),
    "punctuation:punctuation_exclamation": Spec(),
    "keywords:existence": Spec(measure=_measure_keywords),
    "keywords:frequency": Spec(measure=_measure_keyword_frequency),
    "keywords:forbidden_words": Spec(measure=_measure_forbidden),
    "keywords:letter_frequency": Spec(measure=_measure_letter_frequency),
    "length_constraints:number_words": Spec(measure=_measure_words, weight=2),
    "length_constraints:number_sentences": Spec(measure=_measure_sentences),
    "letters:letter_counting": Spec(measure=_measure_letters),
    "first_word:first_word_answer": Spec(measure=_measure_first_word),
    "last_word:last_word_answer": Spec(measure=_measure_last_word),
    "count:lowercase_counting": Spec(measure=_measure_lowercase_words),
}
# How many instructions a row draws (before conflicts cut a draw short).
INSTRUCTION_COUNTS = (1, 1, 2, 2, 2, 3, 3, 4)
# The effort each instruction asks of a model: 1 a single edit, 2 a layout or a count of words or
# sentences, 3 a count of letters or of word shapes. A row's tier sums them (see `difficulty`).
EFFORT = {
    "length_constraints:number_paragraphs": 2,
    "length_constraints:nth_paragraph_first_word": 2,
    "detectable_format:multiple_sections": 2,
    "detectable_format:number_bullet_lists": 2,
    "detectable_format:json_format": 2,
    "combination:two_responses": 2,
    "combination:repeat_prompt": 2,
    "length_constraints:number_words": 2,
    "length_constraints:number_sentences": 2,
    "keywords:frequency": 2,
    "keywords:letter_frequency": 3,
    "letters:letter_counting": 3,
    "change_case:capital_word_frequency": 3,
    "count:lowercase_counting": 3,
}


def _choose(rng: random.Random) -> list[str]:
    ids = sorted(SPECS)
    weights = [SPECS[i].weight for i in ids]
    chosen: list[str] = []
    for _ in range(rng.choice(INSTRUCTION_COUNTS)):
        options = [(i, w) for i, w in zip(ids, weights, strict=True) if may_combine(chosen, i)]
        if not options:
            break
        chosen.append(rng.choices([i for i, _ in options], [w for _, w in options])[0])
    return chosen


def difficulty(ids: list[str]) -> str:
    """The row's tier: the summed effort of its instructions (see `EFFORT`)."""
    effort = sum(EFFORT.get(i, 1) for i in ids)
    return "easy" if effort <= 2 else "medium" if effort <= 4 else "hard"


def _follows_all(ids: list[str], kwargs: list[dict[str, Any]], text: str, loose: bool = False) -> list[bool]:
    results = []
    for instruction_id, arguments in zip(ids, kwargs, strict=True):
        instruction = build_instruction(instruction_id, arguments)
        variants = [v for v in loose_variants(text) if v.strip()] if loose else [text]
        results.append(any(instruction.check(v) for v in variants))
    return results


def _draft_row(index: int, rng: random.Random, ids: list[str] | None = None) -> dict[str, Any] | None:
    """One attempt at row `index` (with `ids`, or drawn ones); None when the instructions cannot all be
    followed, conflict, or let a corrupted or trivial answer follow them all."""
    topic = TOPICS[rng.randrange(len(TOPICS))]
    draft = Draft(topic, rng, topic.task)
    ids = _choose(rng) if ids is None else list(ids)
    final: list[dict[str, Any]] = []
    for instruction_id in ids:
        shape = SPECS[instruction_id].shape
        final.append(shape(draft) if shape else {})
    answer = draft.render()
    for position, instruction_id in enumerate(ids):
        measure = SPECS[instruction_id].measure
        if measure is not None:
            measured = measure(answer, draft)
            if measured is None:
                return None
            final[position] = {**final[position], **measured}
    if not all(_follows_all(ids, final, answer)) or conflicts_of(ids, final):
        return None
    # A trivial answer must break at least one instruction: a row of only "no commas" and "fewer
    # than 80 words" pays the empty answer (as the checkers read it) and a one-word one.
    if any(all(_follows_all(ids, final, wrong)) for wrong in TRIVIAL_ANSWERS):
        return None
    constraints = [build_instruction(i, k).describe() for i, k in zip(ids, final, strict=True)]
    introduction = rng.choice(INTRODUCTIONS)
    listed = "\n".join(f"{n}. {text}" for n, text in enumerate(constraints, start=1))
    prompt = f"{draft.task}\n\n{introduction}\n{listed}"
    # NeMo Gym's shape: its server reads id, instruction_id_list, prompt and kwargs at the top level.
    return {
        "id": index + 1,
        "responses_create_params": {"input": [{"role": "user", "content": prompt}]},
        "instruction_id_list": ids,
        "prompt": prompt,
        "kwargs": final,
        "grading_mode": "fraction" if rng.random() < 0.25 else "binary",
        "difficulty": difficulty(ids),
        "reference_solution": {"tool_calls": [], "answer": answer},
    }


def generate_rows(count: int = ROWS, seed: int = SEED) -> list[dict[str, Any]]:
    """The dataset's rows: row i comes from its own generator seeded with (seed, i)."""
    rows = []
    for index in range(count):
        rng = random.Random(f"{seed}:{index}")
        for _ in range(1000):
            row = _draft_row(index, rng)
            if row is not None:
                rows.append(row)
                break
        else:
            raise RuntimeError(f"row {index}: no draft followed its instructions in 1000 tries")
    return rows + hand_written_rows(first_id=count + 1)


def hand_written_rows(path: Path = HAND_WRITTEN, first_id: int = 1) -> list[dict[str, Any]]:
    """The rows of `path` (one JSON object a line: `prompt`, `instruction_id_list`, `kwargs`, `answer`,
    optional `grading_mode`), in the dataset's shape, numbered from `first_id`; none if it is absent.

    Each is refused (ValueError naming its line) unless its answer follows every instruction, no
    trivial answer does, and no two of its instructions conflict.
    """
    if not path.exists():
        return []
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        given = json.loads(line)
        ids, kwargs, answer = given["instruction_id_list"], given["kwargs"], given["answer"]
        problems = conflicts_of(ids, kwargs)
        if not all(_follows_all(ids, kwargs, answer)):
            problems.append("the answer does not follow every instruction")
        if any(all(_follows_all(ids, kwargs, wrong)) for wrong in TRIVIAL_ANSWERS):
            problems.append("a trivial answer (empty, a refusal, one word) follows every instruction")
        if problems:
            raise ValueError(f"{path.name} line {number}: " + "; ".join(problems) + ". Fix the row or drop it.")
        rows.append(
            {
                "id": first_id + len(rows),
                "responses_create_params": {"input": [{"role": "user", "content": given["prompt"]}]},
                "instruction_id_list": ids,
                "prompt": given["prompt"],
                "kwargs": kwargs,
                "grading_mode": given.get("grading_mode", "binary"),
                "difficulty": difficulty(ids),
                "reference_solution": {"tool_calls": [], "answer": answer},
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The JSONL text of `rows`, one compact line each."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed file differs")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render(generate_rows())
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run {Path(__file__).name} to regenerate it", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} rows to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
