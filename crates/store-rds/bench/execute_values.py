"""psycopg2 baseline for the store-rds benchmark: the seed's tooling, done well.

Loads the same N rows as the Rust benchmark with psycopg2.extras.execute_values (page size
1,000) in one transaction and prints `seconds <elapsed>`.

Usage: execute_values.py <postgres-url> <table> <rows>
"""

import sys
import time

import psycopg2
import psycopg2.extras


def rows(n):
    for i in range(1, n + 1):
        yield (i, f"user {i}", f"user{i}@example.com", i % 90, f"{i % 100000}.{i % 100:02d}")


def main():
    url, table, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    conn = psycopg2.connect(url)
    try:
        started = time.perf_counter()
        with conn.cursor() as cur:
            psycopg2.extras.execute_values(
                cur,
                f"INSERT INTO {table} (id, name, email, age, score) VALUES %s",
                rows(n),
                template="(%s, %s, %s, %s, %s::numeric)",
                page_size=1000,
            )
        conn.commit()
        print(f"seconds {time.perf_counter() - started:.6f}")
    finally:
        conn.close()


if __name__ == "__main__":
    main()
