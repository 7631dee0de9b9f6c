"""Write the small synthetic taxi trip samples in ./data (deterministic; run again to regenerate).

Two files in the two shapes of the public NYC TLC green and yellow taxi data, with the columns the
pipeline uses. Fares follow a simple, noisy tariff so the trained model has something to learn.
"""

import csv
import random
from pathlib import Path

ROWS = 400
HERE = Path(__file__).parent


def trips(rng: random.Random, colour: str):
    for i in range(ROWS):
        distance = round(rng.uniform(0.3, 18.0), 2)
        passengers = rng.choice([1, 1, 1, 2, 2, 3, 4, 5])
        hour = rng.randrange(24)
        surge = 1.25 if hour in (7, 8, 17, 18, 19) else 1.0
        fare = (2.5 + 2.6 * distance + 0.3 * passengers) * surge + rng.gauss(0, 1.2)
        if i % 97 == 0:
            fare = -1.0  # a broken record for prep to drop
        yield {
            "vendor": colour,
            "pickup_hour": hour,
            "passenger_count": passengers,
            "trip_distance": distance,
            "fare_amount": round(fare, 2),
        }


def main() -> None:
    (HERE / "data").mkdir(exist_ok=True)
    for seed, colour in ((7, "green"), (11, "yellow")):
        rng = random.Random(seed)
        rows = list(trips(rng, colour))
        with open(HERE / "data" / f"{colour}_tripdata.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
