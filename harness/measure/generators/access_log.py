"""Web server access log in Combined Log Format (Apache/nginx ``combined``).

One line per request, ``\\n``-terminated::

    203.0.113.7 - - [10/Mar/2024:06:25:03 +0000] "GET /blog/rust-vs-go?page=2 HTTP/1.1" 200 5123 "https://www.google.com/" "Mozilla/5.0 ..."

The shape follows what a busy small site's log looks like, because a parser's speed depends on it
(line length, how often the query branch or the ``-`` size branch is taken, how many distinct paths
the per-path table holds):

- clients: a few thousand IPv4 and some IPv6 addresses with skewed activity; ident is ``-``, the
  user is ``-`` except for a few authenticated requests;
- timestamps advance monotonically, several requests per second, crossing day boundaries;
- methods: mostly GET, then POST, HEAD and a few PUT/DELETE/OPTIONS;
- paths: a fixed population (pages, blog posts, products, API resources, hashed static assets,
  downloads, scanner probes) with Zipf-like popularity; ~1 in 5 requests carries a query string;
- status: ~86 % 200, then 304/301/302, ~5 % 404 (scanner probes always 404), ~1.7 % 5xx, a few
  206/400/401/403;
- sizes: heavy tailed (log-normal page sizes, Pareto-tailed downloads), ``-`` for 304 and HEAD;
- referers: ``-``, internal pages and search engines; user agents: browsers, bots and CLI tools.

About 1 line in 1000 is malformed the way real logs are: TLS handshakes sent to the plain port
(request is an escaped binary blob), ``"-"`` requests from timed-out connections, lines truncated by
a crash or log rotation, empty lines, and a non-numeric status. Parsers must count them as malformed.

To generate millions of lines in seconds, the part of a line after the timestamp comes from a pool
of up to 131,072 independent draws; client and timestamp are drawn for every line.

Parameter: ``lines`` (number of lines, malformed ones included).
"""

from __future__ import annotations

import itertools
import random
import time

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_USER_AGENTS = [
    # (weight, agent)
    (
        30,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36",
    ),
    (
        14,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
    ),
    (
        12,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.3 Safari/605.1.15",
    ),
    (
        10,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.6261.105 Mobile Safari/537.36",
    ),
    (8, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0"),
    (
        5,
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36",
    ),
    (
        4,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.66",
    ),
    (5, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (3, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    (2, "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
    (2, "curl/8.5.0"),
    (2, "python-requests/2.31.0"),
    (1, "Go-http-client/1.1"),
    (1, "Prometheus/2.50.1"),
    (1, "-"),
]

_REFERER_SITES = [
    "https://www.google.com/",
    "https://www.bing.com/",
    "https://duckduckgo.com/",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/r/programming/",
    "https://t.co/xYz12AbC",
]

_WORDS = [
    "rust",
    "go",
    "parsing",
    "fast",
    "log",
    "server",
    "async",
    "memory",
    "cache",
    "release",
    "notes",
    "guide",
    "intro",
    "deep",
    "dive",
    "benchmark",
    "tuning",
    "garbage",
    "collector",
    "allocator",
    "pipeline",
    "streaming",
    "json",
    "http",
    "tls",
    "profiling",
    "concurrency",
    "channels",
    "errors",
    "testing",
    "modules",
    "tooling",
]

_STATIC_EXT = ("css", "js", "png", "jpg", "svg", "woff2", "webp")


def _hexid(rng: random.Random, n: int) -> str:
    return "%0*x" % (n, rng.getrandbits(4 * n))


def _slug(rng: random.Random) -> str:
    return "-".join(rng.sample(_WORDS, rng.randint(2, 5)))


def _path_population(rng: random.Random) -> list[tuple[str, str, float]]:
    """Distinct paths as (path, kind, typical body size), most popular first."""
    paths: list[tuple[str, str, float]] = [
        ("/", "page", 18000),
        ("/favicon.ico", "static", 4286),
        ("/index.html", "page", 18000),
        ("/robots.txt", "static", 120),
        ("/api/v1/health", "api", 15),
        ("/search", "search", 9000),
        ("/login", "page", 6000),
        ("/feed.xml", "page", 52000),
        ("/sitemap.xml", "page", 31000),
        ("/about", "page", 7000),
    ]
    for _ in range(300):
        ext = rng.choice(_STATIC_EXT)
        size = rng.lognormvariate(9.5, 1.2)
        paths.append((f"/static/{ext}/{_slug(rng)}.{_hexid(rng, 8)}.{ext}", "static", size))
    for _ in range(1500):
        paths.append(
            (f"/blog/{rng.randint(2015, 2024)}/{_slug(rng)}", "page", rng.lognormvariate(10.0, 0.5))
        )
    for _ in range(2500):
        paths.append(
            (f"/products/{rng.randint(1000, 99999)}", "page", rng.lognormvariate(9.8, 0.4))
        )
    for _ in range(1500):
        res = rng.choice(("users", "orders", "items", "sessions"))
        paths.append(
            (f"/api/v1/{res}/{rng.randint(1, 500000)}", "api", rng.lognormvariate(6.5, 1.0))
        )
    for _ in range(200):
        paths.append(
            (
                f"/downloads/{_slug(rng)}-{rng.randint(1, 9)}.{rng.randint(0, 20)}.tar.gz",
                "download",
                0.0,
            )
        )
    for probe in (
        "/wp-login.php",
        "/.env",
        "/xmlrpc.php",
        "/wp-admin/setup-config.php",
        "/.git/config",
        "/phpmyadmin/index.php",
        "/cgi-bin/luci",
        "/admin/config.php",
    ):
        paths.append((probe, "probe", 0.0))
    # Shuffle everything after the head so that popularity is not tied to the kind of page.
    tail = paths[10:]
    rng.shuffle(tail)
    return paths[:10] + tail


def _clients(rng: random.Random, n: int) -> list[str]:
    out = []
    for _ in range(n):
        if rng.random() < 0.06:
            groups = [f"{rng.getrandbits(16):x}" for _ in range(4)]
            out.append("2001:db8:" + ":".join(groups) + "::" + f"{rng.getrandbits(12):x}")
        else:
            out.append(
                f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
                f"{rng.randint(1, 254)}"
            )
    return out


def _query(rng: random.Random, kind: str) -> str:
    if kind == "search":
        return f"?q={'+'.join(rng.sample(_WORDS, rng.randint(1, 3)))}&page={rng.randint(1, 5)}"
    if kind == "api":
        return f"?fields=id,name,updated_at&limit={rng.choice((10, 20, 50, 100))}"
    if kind == "static":
        return f"?v={_hexid(rng, 6)}"
    return rng.choice(
        (
            "?utm_source=newsletter&utm_medium=email",
            "?page=2",
            "?ref=hn",
            f"?sort=price&order=asc&page={rng.randint(1, 9)}",
            "?lang=en",
        )
    )


def _status(rng: random.Random, kind: str, method: str) -> int:
    if kind == "probe":
        return 404
    r = rng.random()
    if r < 0.85:
        return 206 if kind == "download" and r < 0.05 else 200
    if r < 0.895:
        return 304 if method == "GET" and kind in ("static", "page") else 200
    if r < 0.918:
        return rng.choice((301, 302))
    if r < 0.968:
        return 404
    if r < 0.983:
        return rng.choice((400, 401, 403))
    return rng.choice((500, 500, 502, 503, 504))


def _size(rng: random.Random, kind: str, base: float, method: str, status: int) -> str:
    if status == 304 or method == "HEAD" or (status in (301, 302) and rng.random() < 0.5):
        return "-"
    if status >= 400:
        return str(rng.randint(150, 600))
    if status in (301, 302):
        return str(rng.randint(160, 240))
    if kind == "download":
        # Pareto tail: most downloads are a few MB, a few are hundreds of MB.
        size = int(2_000_000 * rng.paretovariate(1.2))
        return str(min(size, 900_000_000) // (4 if status == 206 else 1))
    if kind == "static":
        return str(int(base))  # the same file every time
    return str(max(0, int(base * rng.uniform(0.9, 1.1))))


def _malformed(rng: random.Random, good: str, ip: str, stamp: str) -> str:
    kind = rng.randrange(5)
    if kind == 0:  # TLS ClientHello on the plain-HTTP port: one escaped token, no method/path/proto
        blob = "".join(f"\\x{rng.getrandbits(8):02x}" for _ in range(rng.randint(8, 40)))
        return f'{ip} - - {stamp} "\\x16\\x03\\x01{blob}" 400 226 "-" "-"'
    if kind == 1:  # client opened a connection and sent nothing
        return f'{ip} - - {stamp} "-" 408 - "-" "-"'
    if kind == 2:  # cut off mid-line (crash, rotation)
        return good[: rng.randint(1, len(good) - 2)]
    if kind == 3:
        return ""
    return good.replace('" 200 ', '" OK ', 1).replace('" 404 ', '" ERR ', 1) + " extra"


def _records(rng: random.Random, n: int) -> list[tuple[str, str]]:
    """``n`` independent draws of everything after the timestamp, from the distributions above."""
    paths = _path_population(rng)
    # Zipf-like popularity (s ~ 1.1) over the path population.
    path_cum = list(itertools.accumulate(1.0 / (i + 1) ** 1.1 for i in range(len(paths))))
    agents = [a for _, a in _USER_AGENTS]
    methods = ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS")
    protos = ("HTTP/1.1", "HTTP/2.0", "HTTP/1.0")

    path_idx = rng.choices(range(len(paths)), cum_weights=path_cum, k=n + 1)
    agent_of = rng.choices(
        agents, cum_weights=list(itertools.accumulate(w for w, _ in _USER_AGENTS)), k=n
    )
    method_of = rng.choices(
        methods, cum_weights=list(itertools.accumulate((880, 70, 30, 10, 5, 5))), k=n
    )
    proto_of = rng.choices(protos, cum_weights=list(itertools.accumulate((70, 28, 2))), k=n)
    rand = rng.random
    out = []
    for i in range(n):
        path, kind, base = paths[path_idx[i]]
        method = method_of[i]
        if kind == "api" and rand() < 0.3:
            method = rng.choice(("POST", "PUT", "DELETE"))
        target = path + _query(rng, kind) if rand() < 0.2 and kind != "probe" else path
        status = _status(rng, kind, method)
        size = _size(rng, kind, base, method, status)
        r = rand()
        if r < 0.4:
            referer = "-"
        elif r < 0.85:
            referer = "https://example.com" + paths[path_idx[i + 1]][0]
        else:
            referer = rng.choice(_REFERER_SITES)
        user = "-" if rand() < 0.98 else rng.choice(("alice", "bob", "admin", "deploy"))
        out.append(
            (user, f'"{method} {target} {proto_of[i]}" {status} {size} "{referer}" "{agent_of[i]}"')
        )
    return out


def generate(rng: random.Random, lines: int = 100_000) -> bytes:
    # Drawing every field per line is too slow in Python for millions of lines, so the part after
    # the timestamp comes from a pool of independent draws (each record repeats ~25 times in a
    # full-size log, as popular requests do anyway); clients and timestamps are drawn per line.
    records = _records(rng, min(lines, 1 << 17))
    clients = _clients(rng, 8000)
    client_cum = list(itertools.accumulate(1.0 / (i + 1) ** 0.9 for i in range(len(clients))))

    now = 1710051900  # 2024-03-10 06:25:00 UTC
    stamp = ""
    rand = rng.random
    chunks: list[bytes] = []
    # Encoded block by block so that peak memory stays near twice the output size.
    for first in range(0, lines, 1 << 16):
        n = min(1 << 16, lines - first)
        record_of = rng.choices(records, k=n)
        client_of = rng.choices(clients, cum_weights=client_cum, k=n)
        block: list[str] = []
        for i in range(n):
            if rand() < 0.15 or not stamp:  # ~7 requests per second on average
                now += 1
                t = time.gmtime(now)
                stamp = (
                    f"[{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:"
                    f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000]"
                )
            user, rest = record_of[i]
            line = f"{client_of[i]} - {user} {stamp} {rest}"
            if rand() < 0.001:
                line = _malformed(rng, line, client_of[i], stamp)
            block.append(line)
        block.append("")
        chunks.append("\n".join(block).encode())
    return b"".join(chunks)
