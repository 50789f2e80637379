"""Writes `structured_outputs.jsonl`: `python gymhall/envs/structured_outputs/data/generate.py`.

Deterministic (one seeded RNG), so re-running it reproduces the committed file byte for byte; the
test suite checks that. Each row is an extraction task: a short made-up document, a JSON Schema
(nested objects, arrays, enums, numeric ranges, string patterns, nullable fields) and an
instruction to answer with one JSON object. Twelve schema families, five documents each; the
instruction's place (system message, before or after the document) and wording vary by row.
The reference answer is the record the document was written from, so it is valid for the schema
once made strict (every declared property present, no others).
"""

from __future__ import annotations

import json
import random
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent / "structured_outputs.jsonl"
RNG_SEED = 20261122
ROWS_PER_FAMILY = 42  # 12 families x 42 = 504 rows, 14 of each tier per family

FIRST = (
    "Ada Bruno Chiara Dmitri Elena Farid Grace Hiro Ines Jonas Kofi Lena Mateo Nadia Omar Priya Rosa Sven Tala Yusuf"
)
LAST = "Alvarez Becker Chen Dubois Eriksen Fischer Gupta Haddad Ibarra Jensen Kowalski Larsen Moreau Okafor Petrov"
CITIES = [  # city, ISO country code, IATA airport code
    ("Lisbon", "PT", "LIS"),
    ("Oslo", "NO", "OSL"),
    ("Nairobi", "KE", "NBO"),
    ("Toronto", "CA", "YYZ"),
    ("Osaka", "JP", "KIX"),
    ("Lyon", "FR", "LYS"),
    ("Denver", "US", "DEN"),
    ("Krakow", "PL", "KRK"),
    ("Santiago", "CL", "SCL"),
    ("Auckland", "NZ", "AKL"),
]
MONTHS = "January February March April May June July August September October November December".split()


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST.split())} {rng.choice(LAST.split())}"


def _date(rng: random.Random, first_year: int = 2019, last_year: int = 2026) -> tuple[str, str]:
    """A date as ISO text and as prose ("14 March 2024")."""
    year, month, day = rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28)
    return f"{year:04d}-{month:02d}-{day:02d}", f"{day} {MONTHS[month - 1]} {year}"


def _time(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.choice((0, 10, 15, 20, 30, 40, 45, 50)):02d}"


def _email(name: str, domain: str) -> str:
    return name.lower().replace(" ", ".") + "@" + domain


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def _title(rng: random.Random, firsts: str, seconds: str) -> str:
    """A made-up name: one word of `firsts` and one of `seconds` (each a space-separated list)."""
    return f"{rng.choice(firsts.split())} {rng.choice(seconds.split())}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _obj(properties: dict[str, Any], kind: str | list[str] = "object") -> dict[str, Any]:
    """An object schema requiring every property it declares and forbidding others: the schema the
    model is shown is the one graded (grading makes every declared property required)."""
    return {"type": kind, "properties": properties, "required": list(properties), "additionalProperties": False}


STR: dict[str, Any] = {"type": "string"}
DATE: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
CLOCK: dict[str, Any] = {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
EMAIL: dict[str, Any] = {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"}


def _int(low: int | None = None, high: int | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def _num(low: float | None = None, high: float | None = None, *, exclusive_low: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    if low is not None:
        schema["exclusiveMinimum" if exclusive_low else "minimum"] = low
    if high is not None:
        schema["maximum"] = high
    return schema


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _array(items: dict[str, Any], *, min_items: int = 0, max_items: int | None = None, unique: bool = False) -> Any:
    schema: dict[str, Any] = {"type": "array", "items": items}
    if min_items:
        schema["minItems"] = min_items
    if max_items is not None:
        schema["maxItems"] = max_items
    if unique:
        schema["uniqueItems"] = True
    return schema


# --- the schema families: each makes a record from the RNG and writes the document about it --------


def book(rng: random.Random) -> tuple[dict[str, Any], str]:
    genres = rng.sample(
        ["mystery", "history", "science", "fantasy", "biography", "poetry", "travel"], rng.randint(1, 3)
    )
    authors = [{"name": _name(rng), "role": "author"}]
    if rng.random() < 0.6:
        authors.append({"name": _name(rng), "role": rng.choice(["editor", "translator"])})
    title = "The " + _title(rng, "Silent Northern Hidden Last Painted", "Harbor Garden Archive Orbit Valley")
    record: dict[str, Any] = {
        "title": title,
        "isbn": f"978-{rng.randrange(10**10):010d}",
        "authors": authors,
        "year": rng.randint(1950, 2025),
        "genres": genres,
        "pages": rng.randint(90, 900),
        "in_print": rng.random() < 0.7,
    }
    credits = "; ".join(f"{a['name']} ({a['role']})" for a in authors)
    document = (
        f'Catalogue card. "{title}" was published in {record["year"]} and runs to {record["pages"]} pages. '
        f"Credits: {credits}. Shelved under {_join(genres)}. ISBN {record['isbn']}. "
        f"The publisher {'still prints it' if record['in_print'] else 'no longer prints it'}."
    )
    return record, document


BOOK = _obj(
    {
        "title": {"type": "string", "minLength": 1},
        "isbn": {"type": "string", "pattern": r"^978-\d{10}$"},
        "authors": _array(_obj({"name": STR, "role": _enum("author", "editor", "translator")}), min_items=1),
        "year": _int(1450, 2026),
        "genres": _array(
            _enum("mystery", "history", "science", "fantasy", "biography", "poetry", "travel"), min_items=1, unique=True
        ),
        "pages": _int(1),
        "in_print": {"type": "boolean"},
    }
)


def weather(rng: random.Random) -> tuple[dict[str, Any], str]:
    iso, prose = _date(rng)
    hours = sorted(rng.sample(range(24), rng.randint(2, 4)))
    readings = [
        {"hour": h, "temperature_c": round(rng.uniform(-15, 38), 1), "humidity_pct": rng.randint(10, 100)}
        for h in hours
    ]
    record: dict[str, Any] = {
        "station_id": "".join(rng.choice(string.ascii_uppercase) for _ in range(4)),
        "date": iso,
        "conditions": rng.choice(["clear", "cloudy", "rain", "snow", "fog"]),
        "readings": readings,
    }
    lines = "\n".join(
        f"- {r['hour']:02d}:00: {r['temperature_c']} °C, relative humidity {r['humidity_pct']}%" for r in readings
    )
    document = (
        f"Station {record['station_id']} logged the following on {prose} ({record['conditions']} all day):\n{lines}"
    )
    return record, document


WEATHER = _obj(
    {
        "station_id": {"type": "string", "pattern": "^[A-Z]{4}$"},
        "date": DATE,
        "conditions": _enum("clear", "cloudy", "rain", "snow", "fog"),
        "readings": _array(
            _obj({"hour": _int(0, 23), "temperature_c": _num(-60, 60), "humidity_pct": _int(0, 100)}), min_items=2
        ),
    }
)


def invoice(rng: random.Random) -> tuple[dict[str, Any], str]:
    items: list[dict[str, Any]] = []
    for _ in range(rng.randint(1, 4)):
        items.append(
            {
                "sku": f"{''.join(rng.choice(string.ascii_uppercase) for _ in range(3))}-{rng.randrange(10000):04d}",
                "description": rng.choice(
                    ["desk lamp", "USB cable", "notebook", "chair mat", "monitor arm", "stapler"]
                ),
                "quantity": rng.randint(1, 12),
                "unit_price": _money(rng, 2, 250),
            }
        )
    customer = _name(rng)
    record: dict[str, Any] = {
        "invoice_number": f"INV-{rng.randrange(10**6):06d}",
        "customer": {"name": customer, "email": _email(customer, "example.com")},
        "currency": rng.choice(["USD", "EUR", "GBP"]),
        "line_items": items,
        "total": round(sum(i["quantity"] * i["unit_price"] for i in items), 2),
        "paid": rng.random() < 0.5,
    }
    lines = "\n".join(f"  {i['sku']}  {i['description']:<12} x{i['quantity']} @ {i['unit_price']:.2f}" for i in items)
    document = (
        f"INVOICE {record['invoice_number']}\nBill to: {customer} <{record['customer']['email']}>\n"
        f"Currency: {record['currency']}\n{lines}\nTOTAL {record['total']:.2f}\n"
        f"Status: {'PAID' if record['paid'] else 'awaiting payment'}"
    )
    return record, document


INVOICE = _obj(
    {
        "invoice_number": {"type": "string", "pattern": r"^INV-\d{6}$"},
        "customer": _obj({"name": STR, "email": EMAIL}),
        "currency": _enum("USD", "EUR", "GBP", "JPY"),
        "line_items": _array(
            _obj(
                {
                    "sku": {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"},
                    "description": STR,
                    "quantity": _int(1),
                    "unit_price": _num(0),
                }
            ),
            min_items=1,
        ),
        "total": _num(0),
        "paid": {"type": "boolean"},
    }
)


def recipe(rng: random.Random) -> tuple[dict[str, Any], str]:
    pantry = [("flour", "g"), ("milk", "ml"), ("butter", "g"), ("eggs", "piece"), ("sugar", "tbsp"), ("salt", "tsp")]
    pantry += [("rice", "cup"), ("olive oil", "tbsp"), ("tomatoes", "piece"), ("stock", "ml"), ("lentils", "g")]
    ingredients = [
        {"item": item, "amount": rng.choice([0.5, 1, 2, 3, 4, 100, 200, 250, 500]), "unit": unit}
        for item, unit in rng.sample(pantry, rng.randint(3, 5))
    ]
    steps = rng.sample(
        [
            "Preheat the oven.",
            "Whisk everything together.",
            "Simmer for twenty minutes.",
            "Season to taste.",
            "Rest for five minutes.",
            "Serve warm.",
        ],
        rng.randint(2, 4),
    )
    record: dict[str, Any] = {
        "name": _title(rng, "Rustic Quick Homestyle Spiced", "stew pancakes pilaf soup bake"),
        "servings": rng.randint(1, 8),
        "prep_minutes": rng.choice([10, 15, 25, 40, 60, 90]),
        "difficulty": rng.choice(["easy", "medium", "hard"]),
        "vegetarian": rng.random() < 0.5,
        "ingredients": ingredients,
        "steps": steps,
    }
    needs = "\n".join(f"* {i['amount']} {i['unit']} {i['item']}" for i in ingredients)
    document = (
        f"{record['name']} — serves {record['servings']}, {record['prep_minutes']} minutes, {record['difficulty']}. "
        f"{'Vegetarian.' if record['vegetarian'] else 'Not vegetarian.'}\nYou need:\n{needs}\nMethod: {' '.join(steps)}"
    )
    return record, document


RECIPE = _obj(
    {
        "name": STR,
        "servings": _int(1, 12),
        "prep_minutes": _int(0, 600),
        "difficulty": _enum("easy", "medium", "hard"),
        "vegetarian": {"type": "boolean"},
        "ingredients": _array(
            _obj(
                {
                    "item": STR,
                    "amount": _num(0, exclusive_low=True),
                    "unit": _enum("g", "kg", "ml", "l", "cup", "tbsp", "tsp", "piece"),
                }
            ),
            min_items=1,
        ),
        "steps": _array({"type": "string", "minLength": 3}, min_items=1),
    }
)


def flight(rng: random.Random) -> tuple[dict[str, Any], str]:
    (origin, _, a), (destination, _, b) = rng.sample(CITIES, 2)
    status = rng.choice(["scheduled", "boarding", "departed", "delayed", "cancelled"])
    record: dict[str, Any] = {
        "flight_number": f"{rng.choice(['GH', 'NW', 'TX', 'LQ'])}{rng.randint(100, 9999)}",
        "departure": {"airport": a, "time": _time(rng)},
        "arrival": {"airport": b, "time": _time(rng)},
        "status": status,
        "delay_minutes": rng.randint(5, 240) if status == "delayed" else 0,
        "gate": None if status == "cancelled" else f"{rng.choice('ABCDE')}{rng.randint(1, 40)}",
    }
    delay = f" (delayed {record['delay_minutes']} minutes)" if status == "delayed" else ""
    gate = "no gate assigned" if record["gate"] is None else f"gate {record['gate']}"
    document = (
        f"Departures board: flight {record['flight_number']} from {origin} ({a}) at {record['departure']['time']} "
        f"to {destination} ({b}), arriving {record['arrival']['time']}. Status: {status}{delay}; {gate}."
    )
    return record, document


FLIGHT = _obj(
    {
        "flight_number": {"type": "string", "pattern": r"^[A-Z]{2}\d{3,4}$"},
        "departure": _obj({"airport": {"type": "string", "pattern": "^[A-Z]{3}$"}, "time": CLOCK}),
        "arrival": _obj({"airport": {"type": "string", "pattern": "^[A-Z]{3}$"}, "time": CLOCK}),
        "status": _enum("scheduled", "boarding", "departed", "delayed", "cancelled"),
        "delay_minutes": _int(0, 1440),
        "gate": {"type": ["string", "null"]},
    }
)


def employee(rng: random.Random) -> tuple[dict[str, Any], str]:
    name = _name(rng)
    iso, prose = _date(rng, 2010, 2025)
    manager = None if rng.random() < 0.3 else {"name": _name(rng), "employee_id": f"E{rng.randrange(10**5):05d}"}
    record: dict[str, Any] = {
        "employee_id": f"E{rng.randrange(10**5):05d}",
        "full_name": name,
        "department": rng.choice(["engineering", "sales", "finance", "support", "design"]),
        "start_date": iso,
        "salary_band": rng.randint(1, 10),
        "remote": rng.random() < 0.5,
        "skills": rng.sample(["python", "negotiation", "sql", "figma", "accounting", "writing", "kubernetes"], 3),
        "manager": manager,
    }
    boss = (
        "reports to nobody (department head)"
        if manager is None
        else (f"reports to {manager['name']} ({manager['employee_id']})")
    )
    document = (
        f"HR profile {record['employee_id']}: {name} joined {record['department']} on {prose}, salary band "
        f"{record['salary_band']}, {'fully remote' if record['remote'] else 'office-based'}, {boss}. "
        f"Listed skills: {_join(record['skills'])}."
    )
    return record, document


EMPLOYEE = _obj(
    {
        "employee_id": {"type": "string", "pattern": r"^E\d{5}$"},
        "full_name": STR,
        "department": _enum("engineering", "sales", "finance", "support", "design"),
        "start_date": DATE,
        "salary_band": _int(1, 10),
        "remote": {"type": "boolean"},
        "skills": _array(STR, max_items=5, unique=True),
        "manager": _obj({"name": STR, "employee_id": {"type": "string", "pattern": r"^E\d{5}$"}}, ["object", "null"]),
    }
)


def product(rng: random.Random) -> tuple[dict[str, Any], str]:
    record: dict[str, Any] = {
        "product_id": f"P-{rng.randrange(10**6):06d}",
        "name": _title(rng, "Trail Studio Pocket Nordic", "Backpack Kettle Speaker Lamp"),
        "price": {"amount": _money(rng, 5, 400), "currency": rng.choice(["USD", "EUR", "GBP"])},
        "dimensions_cm": {"length": rng.randint(5, 80), "width": rng.randint(5, 60), "height": rng.randint(2, 50)},
        "stock": rng.randint(0, 500),
        "rating": round(rng.uniform(1, 5), 1),
        "tags": rng.sample(["outdoor", "kitchen", "gift", "eco", "bestseller", "new"], rng.randint(0, 3)),
        "discount_pct": rng.choice([None, 5, 10, 25]),
    }
    dims = record["dimensions_cm"]
    tags = _join(record["tags"]) if record["tags"] else "none"
    discount = "discount not stated" if record["discount_pct"] is None else f"{record['discount_pct']}% off"
    document = (
        f"Listing {record['product_id']}: {record['name']}, {record['price']['amount']:.2f} "
        f"{record['price']['currency']} ({discount}). Size {dims['length']} x {dims['width']} x {dims['height']} cm "
        f"(length x width x height). {record['stock']} in stock, rated {record['rating']}/5. Tags: {tags}."
    )
    return record, document


PRODUCT = _obj(
    {
        "product_id": {"type": "string", "pattern": r"^P-\d{6}$"},
        "name": STR,
        "price": _obj({"amount": _num(0), "currency": _enum("USD", "EUR", "GBP")}),
        "dimensions_cm": _obj(
            {
                "length": _num(0, exclusive_low=True),
                "width": _num(0, exclusive_low=True),
                "height": _num(0, exclusive_low=True),
            }
        ),
        "stock": _int(0),
        "rating": _num(0, 5),
        "tags": _array(STR, unique=True),
        "discount_pct": {"anyOf": [_num(0, 100), {"type": "null"}]},
    }
)


def event(rng: random.Random) -> tuple[dict[str, Any], str]:
    city, _, _ = rng.choice(CITIES)
    iso, prose = _date(rng, 2026, 2027)
    tiers = rng.sample(["standard", "vip", "student"], rng.randint(1, 3))
    tickets = [{"tier": t, "price": _money(rng, 0, 300), "available": rng.randint(0, 400)} for t in tiers]
    record: dict[str, Any] = {
        "event_name": f"{city} {rng.choice(['Jazz Night', 'Book Fair', 'Tech Meetup', 'Food Festival'])}",
        "date": iso,
        "start_time": _time(rng),
        "venue": {
            "name": f"{rng.choice(['Harbour', 'Central', 'Old Town'])} Hall",
            "city": city,
            "capacity": rng.randint(50, 5000),
        },
        "tickets": tickets,
        "sold_out": all(t["available"] == 0 for t in tickets),
    }
    venue = record["venue"]
    offers = "; ".join(f"{t['tier']} {t['price']:.2f} ({t['available']} left)" for t in tickets)
    document = (
        f"{record['event_name']} takes place on {prose} at {record['start_time']} in {venue['name']}, {city} "
        f"(capacity {venue['capacity']}). Tickets: {offers}. "
        f"{'Sold out.' if record['sold_out'] else 'Tickets remain.'}"
    )
    return record, document


EVENT = _obj(
    {
        "event_name": STR,
        "date": DATE,
        "start_time": CLOCK,
        "venue": _obj({"name": STR, "city": STR, "capacity": _int(1)}),
        "tickets": _array(
            _obj({"tier": _enum("standard", "vip", "student"), "price": _num(0), "available": _int(0)}), min_items=1
        ),
        "sold_out": {"type": "boolean"},
    }
)


def review(rng: random.Random) -> tuple[dict[str, Any], str]:
    rating = rng.randint(1, 10)
    verdict = "recommended" if rating >= 7 else "mixed" if rating >= 4 else "not recommended"
    record: dict[str, Any] = {
        "movie_title": _title(rng, "Midnight Paper Iron Velvet", "Run Moon Letters Coast"),
        "release_year": rng.randint(1960, 2025),
        "reviewer": _name(rng),
        "rating": rating,
        "verdict": verdict,
        "pros": rng.sample(["acting", "score", "cinematography", "pacing", "dialogue"], rng.randint(1, 2)),
        "cons": rng.sample(["length", "plot holes", "ending", "sound mix"], rng.randint(0, 2)),
        "contains_spoilers": rng.random() < 0.3,
    }
    cons = _join(record["cons"]) if record["cons"] else "none"
    document = (
        f"Review by {record['reviewer']} of {record['movie_title']} ({record['release_year']}): "
        f"{rating}/10, {verdict}. Strong points: {_join(record['pros'])}. Weak points: {cons}. "
        f"{'Warning: spoilers ahead.' if record['contains_spoilers'] else 'Spoiler-free.'}"
    )
    return record, document


REVIEW = _obj(
    {
        "movie_title": STR,
        "release_year": _int(1888, 2026),
        "reviewer": STR,
        "rating": _int(1, 10),
        "verdict": _enum("recommended", "mixed", "not recommended"),
        "pros": _array(STR),
        "cons": _array(STR),
        "contains_spoilers": {"type": "boolean"},
    }
)


def shipment(rng: random.Random) -> tuple[dict[str, Any], str]:
    (a, ca, _), (b, cb, _) = rng.sample(CITIES, 2)
    statuses = ["label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"]
    stops = statuses[: rng.randint(2, 5)]
    day, _ = _date(rng, 2025, 2026)
    events = [
        {"timestamp": f"{day}T{_time(rng)}:00Z", "status": s, "location": a if i < 2 else b}
        for i, s in enumerate(stops)
    ]
    events.sort(key=lambda e: e["timestamp"])
    record: dict[str, Any] = {
        "tracking_number": "1Z" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16)),
        "carrier": rng.choice(["UPS", "DHL", "FedEx", "PostNord"]),
        "weight_kg": round(rng.uniform(0.1, 30), 2),
        "origin": {"city": a, "country": ca},
        "destination": {"city": b, "country": cb},
        "events": events,
    }
    log = "\n".join(f"{e['timestamp']}  {e['status']:<17} {e['location']}" for e in events)
    document = (
        f"{record['carrier']} parcel {record['tracking_number']}, {record['weight_kg']} kg, from {a} ({ca}) "
        f"to {b} ({cb}). Tracking history:\n{log}"
    )
    return record, document


SHIPMENT = _obj(
    {
        "tracking_number": {"type": "string", "pattern": "^1Z[0-9A-Z]{16}$"},
        "carrier": _enum("UPS", "DHL", "FedEx", "PostNord"),
        "weight_kg": _num(0, 70, exclusive_low=True),
        "origin": _obj({"city": STR, "country": {"type": "string", "pattern": "^[A-Z]{2}$"}}),
        "destination": _obj({"city": STR, "country": {"type": "string", "pattern": "^[A-Z]{2}$"}}),
        "events": _array(
            _obj(
                {
                    "timestamp": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"},
                    "status": _enum("label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"),
                    "location": STR,
                }
            ),
            min_items=1,
        ),
    }
)


def sensor(rng: random.Random) -> tuple[dict[str, Any], str]:
    units = {"temperature": "C", "pressure": "hPa", "humidity": "%"}
    metrics = rng.sample(sorted(units), rng.randint(1, 3))
    ranges = {"temperature": (-20.0, 45.0), "pressure": (950.0, 1050.0), "humidity": (5.0, 100.0)}
    record: dict[str, Any] = {
        "device_id": "dev-" + "".join(rng.choice("0123456789abcdef") for _ in range(8)),
        "firmware": f"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
        "battery_pct": rng.randint(0, 100),
        "measurements": [{"metric": m, "value": round(rng.uniform(*ranges[m]), 1), "unit": units[m]} for m in metrics],
        "alerts": rng.sample(["low battery", "door open", "sensor drift", "reboot"], rng.randint(0, 2)),
    }
    readings = ", ".join(f"{m['metric']} {m['value']} {m['unit']}" for m in record["measurements"])
    alerts = _join(record["alerts"]) if record["alerts"] else "no alerts"
    document = (
        f"[{record['device_id']}] fw {record['firmware']} | battery {record['battery_pct']}% | {readings} | {alerts}"
    )
    return record, document


SENSOR = _obj(
    {
        "device_id": {"type": "string", "pattern": "^dev-[0-9a-f]{8}$"},
        "firmware": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "battery_pct": _int(0, 100),
        "measurements": _array(
            _obj(
                {
                    "metric": _enum("temperature", "pressure", "humidity"),
                    "value": {"type": "number"},
                    "unit": _enum("C", "hPa", "%"),
                }
            ),
            min_items=1,
        ),
        "alerts": _array(STR, max_items=3),
    }
)


def course(rng: random.Random) -> tuple[dict[str, Any], str]:
    dept = rng.choice(["CS", "MATH", "HIST", "BIO", "ECON"])
    instructor = _name(rng)
    days = sorted(rng.sample(range(5), rng.randint(1, 3)))
    names = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    room = f"{rng.choice(['A', 'B', 'C'])}{rng.randint(100, 420)}"
    start = _time(rng)
    record: dict[str, Any] = {
        "course_code": f"{dept} {rng.randint(100, 499)}",
        "title": rng.choice(["Foundations", "Methods", "Seminar", "Workshop"]) + " in " + dept.title(),
        "credits": rng.randint(1, 6),
        "instructor": {"name": instructor, "email": _email(instructor, "uni.example.edu")},
        "schedule": [{"day": names[d], "start": start, "room": room} for d in days],
        "prerequisites": [f"{dept} {rng.randint(100, 199)}" for _ in range(rng.randint(0, 2))],
        "capacity": rng.randint(5, 300),
    }
    meets = _join([names[d] for d in days])
    prereq = _join(record["prerequisites"]) if record["prerequisites"] else "none"
    document = (
        f"{record['course_code']}: {record['title']} ({record['credits']} credits), taught by {instructor} "
        f"({record['instructor']['email']}). Meets {meets} at {start} in room {room}; {record['capacity']} seats. "
        f"Prerequisites: {prereq}."
    )
    return record, document


COURSE = _obj(
    {
        "course_code": {"type": "string", "pattern": r"^[A-Z]{2,4} \d{3}$"},
        "title": STR,
        "credits": _int(1, 6),
        "instructor": _obj({"name": STR, "email": EMAIL}),
        "schedule": _array(
            _obj({"day": _enum("Mon", "Tue", "Wed", "Thu", "Fri"), "start": CLOCK, "room": STR}), min_items=1
        ),
        "prerequisites": _array({"type": "string", "pattern": r"^[A-Z]{2,4} \d{3}$"}, unique=True),
        "capacity": _int(5, 300),
    }
)


@dataclass(frozen=True)
class Family:
    """One kind of document: its name, its JSON Schema, how to make a record and its document, and the
    field (and its name in words) that tells one record from another in a hard row's document."""

    name: str
    schema: dict[str, Any]
    make: Callable[[random.Random], tuple[dict[str, Any], str]]
    key: str
    key_words: str


FAMILIES = [
    Family("book", BOOK, book, "isbn", "ISBN"),
    Family("weather_log", WEATHER, weather, "station_id", "station"),
    Family("invoice", INVOICE, invoice, "invoice_number", "invoice number"),
    Family("recipe", RECIPE, recipe, "name", "name"),
    Family("flight", FLIGHT, flight, "flight_number", "flight number"),
    Family("employee", EMPLOYEE, employee, "employee_id", "employee ID"),
    Family("product", PRODUCT, product, "product_id", "product ID"),
    Family("event", EVENT, event, "event_name", "name"),
    Family("movie_review", REVIEW, review, "movie_title", "film title"),
    Family("shipment", SHIPMENT, shipment, "tracking_number", "tracking number"),
    Family("sensor_log", SENSOR, sensor, "device_id", "device ID"),
    Family("course", COURSE, course, "course_code", "course code"),
]

CONCISE = "Schema:\n{schema}"
DETAILED = (
    "Answer with a single JSON object that is valid for this JSON Schema:\n{schema}\n"
    "Include every property the schema declares (use null where the schema allows it and the document "
    "gives no value), add no other properties, and respect every type, enum, range and pattern. "
    "Reply with the JSON only: no Markdown code fence, no commentary."
)
QUESTION = "Extract the record described in the document below as JSON."
PICK = "The document below holds several records. Extract the one whose {words} is {value} as JSON, and no other."
TIERS = ("easy", "medium", "hard")
"""Row i of a family is TIERS[i % 3]: easy documents list the record's fields one per line; medium ones
describe it in prose; hard ones describe it among one or two other records of the same family."""


def _cell(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _form(record: dict[str, Any], prefix: str = "") -> list[str]:
    """The record as `field: value` lines (nested fields dotted, list items numbered from 1)."""
    lines: list[str] = []
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            lines += _form(value, f"{name}.")
        elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
            for number, item in enumerate(value, 1):
                lines += _form(item, f"{name} #{number}.")
        elif isinstance(value, list):
            lines.append(f"{name}: {'; '.join(map(_cell, value)) if value else '(none)'}")
        else:
            lines.append(f"{name}: {_cell(value)}")
    return lines


def _task(rng: random.Random, family: Family, tier: str) -> tuple[dict[str, Any], str, str]:
    """A record, the document to extract it from and the question asking for it, for one tier."""
    record, document = family.make(rng)
    if tier == "easy":
        return record, "\n".join(_form(record)), QUESTION
    if tier == "medium":
        return record, document, QUESTION
    documents = [document]
    while len(documents) < 1 + rng.randint(1, 2):
        other, text = family.make(rng)
        if not same_key(other[family.key], record[family.key]):
            documents.append(text)
    rng.shuffle(documents)
    return record, "\n\n---\n\n".join(documents), PICK.format(words=family.key_words, value=record[family.key])


def same_key(first: Any, second: Any) -> bool:
    """Whether two records' keys could be confused (case aside), so a hard row's target is unambiguous."""
    return str(first).casefold() == str(second).casefold()


def _messages(
    rng: random.Random, schema_text: str, document: str, question: str
) -> tuple[list[dict[str, str]], str, str]:
    detail = rng.choice(["concise", "detailed"])
    instruction = (CONCISE if detail == "concise" else DETAILED).format(schema=schema_text)
    if detail == "concise":
        instruction += "\nReply with JSON only."
    layout = rng.choice(["system_instruction", "instruction_before_document", "instruction_after_document"])
    doc = f"<document>\n{document}\n</document>"
    if layout == "system_instruction":
        messages = [{"role": "system", "content": instruction}, {"role": "user", "content": f"{question}\n\n{doc}"}]
    elif layout == "instruction_before_document":
        messages = [{"role": "user", "content": f"{question}\n\n{instruction}\n\n{doc}"}]
    else:
        messages = [{"role": "user", "content": f"{question}\n\n{doc}\n\n{instruction}"}]
    return messages, layout, detail


def build_rows() -> list[dict[str, Any]]:
    """The dataset's rows, in order: each family's rows, their tiers in turn."""
    rng = random.Random(RNG_SEED)
    rows = []
    for family in FAMILIES:
        schema_str = json.dumps(family.schema)
        for number in range(ROWS_PER_FAMILY):
            tier = TIERS[number % len(TIERS)]
            record, document, question = _task(rng, family, tier)
            messages, layout, detail = _messages(rng, schema_str, document, question)
            answer = json.dumps(record, ensure_ascii=False, indent=2 if rng.random() < 0.5 else None)
            rows.append(
                {
                    "responses_create_params": {"input": messages},
                    "schema_str": schema_str,
                    "schema_type": "json",
                    "problem_type": "extraction",
                    "instruction_layout": layout,
                    "instruction_detail_level": detail,
                    "source_record_id": f"{family.name}-{number + 1}",
                    "difficulty": tier,
                    "expected_record": record,
                    "reference_solution": {"tool_calls": [], "answer": answer},
                }
            )
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
