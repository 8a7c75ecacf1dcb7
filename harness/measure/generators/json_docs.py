"""Input for the `json` workload: one JSON document holding tweets and a GeoJSON FeatureCollection.

Framing (a single compact JSON object, no trailing newline):

    {"tweets": [Tweet, ...], "geometry": {"type": "FeatureCollection", "features": [Feature, ...]}}

The two halves stress a JSON parser in two different ways, like the classic twitter.json and
canada.json corpora:

* Tweets are string-heavy and deeply nested, shaped like Twitter API v1.1 statuses: a nested user
  object, entities (arrays of hashtags, urls and mentions with index pairs), nullable fields (null
  reply ids, null geo point, null time zone), booleans, 64-bit ids, negative integers (utc_offset),
  an optional `retweeted_status` that embeds a whole second tweet (absent, not null, when the tweet
  is not a retweet). Text mixes English, accented Latin, Japanese, Chinese, Korean and emoji
  (including non-BMP code points, skin-tone modifiers and ZWJ sequences), plus `<`, `>`, `&`,
  quotes, backslashes and newlines. Every other tweet is serialised the way the Twitter API did it
  (non-ASCII as \\uXXXX escapes with surrogate pairs, `/` as `\\/`); the rest carry raw UTF-8, so
  both string-decoding paths are exercised.
* Geometry is number-heavy: Polygon features (outer ring plus sometimes holes) whose coordinates
  are floats with six decimals, plus a few float, integer, boolean and nullable properties.

Constraints that keep the re-encoded output byte-identical between Go encoding/json and
serde_json (see workloads/docs/json.md):

* Every float is non-integral (Go prints 1.0 as `1`, serde_json as `1.0`) and its magnitude is in
  [0.001, 1e7), where both print plain decimals, never exponents.
* No string contains U+2028/U+2029 (Go always escapes them) or control characters other than
  `\\n` and `\\t`.
"""

import json
import random
from math import cos, sin, tau

# --- vocabulary -----------------------------------------------------------------------------------

# Word lists read better packed than one per line.
# fmt: off
_EN = [
    "the", "a", "to", "and", "of", "in", "is", "it", "you", "that", "for", "on", "with", "this",
    "be", "at", "are", "just", "my", "so", "have", "was", "not", "but", "all", "new", "out",
    "like", "get", "now", "today", "love", "time", "day", "great", "good", "people", "one",
    "what", "more", "can", "about", "going", "back", "really", "why", "when", "who", "see",
    "know", "think", "want", "need", "best", "first", "last", "night", "happy", "thanks", "world",
    "music", "game", "live", "watch", "check", "video", "news", "update", "tonight", "weekend",
    "coffee", "code", "release", "build", "deploy", "bug", "fix", "ship", "team", "meeting",
    "launch", "beta", "api", "server", "cloud", "data", "open", "source",
]
_LATIN = [
    "café", "naïve", "São", "Paulo", "Zürich", "déjà", "vu", "señor", "año", "Köln", "über",
    "façade", "smörgåsbord", "crème", "brûlée",
]
_JA = [
    "今日", "は", "とても", "良い", "天気", "です", "ね", "東京", "新しい", "ゲーム", "楽しみ",
    "ありがとう", "ございます", "コーヒー", "飲み", "たい", "ラーメン", "美味しい", "週末",
    "映画", "見に", "行く", "仕事", "終わった", "やった",
]
_ZH = [
    "今天", "天气", "很好", "我们", "一起", "去", "北京", "上海", "学习", "工作", "朋友", "电影",
    "音乐", "中文", "你好", "谢谢", "加油",
]
_KO = [
    "안녕하세요", "오늘", "날씨", "정말", "좋아요", "서울", "친구", "감사합니다", "음악", "영화",
    "사랑해",
]
_EMOJI = [
    "😀", "😂", "🥰", "😎", "🤔", "🙏", "👍", "👍🏽", "🔥", "✨", "🎉", "❤️", "💯", "🚀", "🌸",
    "🍣", "☕", "⚽", "🇯🇵", "🇺🇸", "👨\u200d💻", "👩\u200d👩\u200d👧", "🤷\u200d♀️", "🐍", "🦀",
    "🐹",
]
# fmt: on
_PUNCT = ["!", "?", "...", ",", " &amp;", " & ", " <3", " -> ", " >_<", ' "quoted"', " \\o/", " (:"]
_LANG_WORDS = {"en": _EN, "fr": _LATIN, "ja": _JA, "zh": _ZH, "ko": _KO}
_LANGS = ["en"] * 5 + ["ja"] * 2 + ["fr", "zh", "ko"]

_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_SOURCES = [
    ("http://twitter.com/download/iphone", "Twitter for iPhone"),
    ("http://twitter.com/download/android", "Twitter for Android"),
    ("https://mobile.twitter.com", "Twitter Web App"),
    ("https://about.twitter.com/products/tweetdeck", "TweetDeck"),
]
_TIME_ZONES = [
    ("Tokyo", 32400),
    ("London", 0),
    ("Pacific Time (US & Canada)", -28800),
    ("Eastern Time (US & Canada)", -18000),
    ("Berlin", 3600),
    ("Seoul", 32400),
]
_PLACES = [
    "São Paulo",
    "東京都",
    "Zürich",
    "Reykjavík",
    "서울특별시",
    "Kraków",
    "北京市",
    "Bruxelles",
    "Ålesund",
    "Montréal",
    "Springfield",
    "Lake Placid",
    "Dún Laoghaire",
]
_COUNTRIES = ["BR", "JP", "CH", "IS", "KR", "PL", "CN", "BE", "NO", "CA", "US", "IE"]


# --- helpers --------------------------------------------------------------------------------------


def _float(x: float, ndigits: int) -> float:
    """Round to ndigits and nudge away from integral values and tiny magnitudes (see module doc)."""
    x = round(x, ndigits)
    step = 10.0**-ndigits
    while x == int(x) or abs(x) < 0.001:
        x = round(x + step if x >= 0 else x - step, ndigits)
    return x


def _date(rng: random.Random) -> str:
    return "%s %s %02d %02d:%02d:%02d +0000 %d" % (
        rng.choice(_DAYS),
        rng.choice(_MONTHS),
        rng.randint(1, 28),
        rng.randrange(24),
        rng.randrange(60),
        rng.randrange(60),
        rng.randint(2008, 2023),
    )


def _snowflake(rng: random.Random) -> int:
    return rng.randint(10**17, 1_700_000_000_000_000_000)


def _handle(rng: random.Random) -> str:
    return rng.choice(_EN) + rng.choice(["_", "", "dev", "x"]) + str(rng.randrange(10000))


def _sentence(rng: random.Random, lang: str, lo: int, hi: int) -> str:
    words = _LANG_WORDS[lang]
    sep = "" if lang in ("ja", "zh") else " "
    out = []
    for _ in range(rng.randint(lo, hi)):
        r = rng.random()
        if r < 0.12:
            out.append(rng.choice(_EMOJI))
        elif r < 0.20:
            out.append(rng.choice(_PUNCT))
        elif r < 0.25:
            out.append(rng.choice(_EN))  # code-switching
        else:
            out.append(rng.choice(words))
    return sep.join(out)


def _indices(pos: int, length: int) -> list:
    return [pos, pos + length]


# --- tweets ---------------------------------------------------------------------------------------


def _user(rng: random.Random) -> dict:
    uid = rng.randint(10**6, 1_600_000_000_000_000_000)
    lang = rng.choice(_LANGS)
    tz = rng.choice(_TIME_ZONES) if rng.random() < 0.6 else None
    name = _sentence(rng, lang, 1, 3)
    return {
        "id": uid,
        "id_str": str(uid),
        "name": name,
        "screen_name": _handle(rng),
        "location": rng.choice(_PLACES) if rng.random() < 0.7 else "",
        "description": _sentence(rng, lang, 4, 20),
        "url": "https://t.co/" + "%010x" % rng.getrandbits(40) if rng.random() < 0.4 else None,
        "protected": rng.random() < 0.05,
        "followers_count": min(int(rng.paretovariate(0.8) * 40), 10**9),
        "friends_count": rng.randrange(5000),
        "listed_count": rng.randrange(300),
        "created_at": _date(rng),
        "favourites_count": rng.randrange(100000),
        "utc_offset": tz[1] if tz else None,
        "time_zone": tz[0] if tz else None,
        "geo_enabled": rng.random() < 0.3,
        "verified": rng.random() < 0.02,
        "statuses_count": rng.randrange(200000),
        "lang": lang,
        "profile_background_color": "%06X" % rng.getrandbits(24),
        "profile_image_url_https": "https://pbs.twimg.com/profile_images/%d/%s_normal.jpg"
        % (_snowflake(rng), "%08x" % rng.getrandbits(32)),
        "default_profile": rng.random() < 0.5,
    }


def _tweet(rng: random.Random, allow_retweet: bool = True) -> dict:
    tid = _snowflake(rng)
    lang = rng.choice(_LANGS)
    text = _sentence(rng, lang, 4, 24)
    if rng.random() < 0.15:
        text += "\n" + _sentence(rng, lang, 2, 8)
    if rng.random() < 0.05:
        text += '\t"C:\\\\temp" <b>bold</b>'
    hashtags, urls, mentions = [], [], []
    for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
        tag = rng.choice(_LANG_WORDS[lang]) + rng.choice(["", "2023", "Day"])
        hashtags.append({"text": tag, "indices": _indices(len(text) + 1, len(tag) + 1)})
        text += " #" + tag
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        short = "https://t.co/" + "%010x" % rng.getrandbits(40)
        path = "/".join(rng.choice(_EN) for _ in range(rng.randint(1, 3)))
        urls.append(
            {
                "url": short,
                "expanded_url": "https://example.com/%s?id=%d&ref=tw"
                % (path, rng.randrange(10**6)),
                "display_url": "example.com/" + path[:20] + "…",
                "indices": _indices(len(text) + 1, len(short)),
            }
        )
        text += " " + short
    for _ in range(rng.choice([0, 1, 1, 2])):
        uid = rng.randint(10**6, 10**18)
        screen = _handle(rng)
        mentions.append(
            {
                "screen_name": screen,
                "name": _sentence(rng, rng.choice(_LANGS), 1, 2),
                "id": uid,
                "id_str": str(uid),
                "indices": _indices(0, len(screen) + 1),
            }
        )
        text = "@" + screen + " " + text
    reply = rng.random() < 0.25
    reply_user = rng.randint(10**6, 10**18)
    geo = None
    if rng.random() < 0.1:
        geo = {
            "type": "Point",
            "coordinates": [_float(rng.uniform(-179, 179), 6), _float(rng.uniform(-80, 80), 6)],
        }
    href, label = rng.choice(_SOURCES)
    tweet = {
        "created_at": _date(rng),
        "id": tid,
        "id_str": str(tid),
        "text": text,
        "source": '<a href="%s" rel="nofollow">%s</a>' % (href, label),
        "truncated": rng.random() < 0.05,
        "in_reply_to_status_id": _snowflake(rng) if reply else None,
        "in_reply_to_user_id": reply_user if reply else None,
        "in_reply_to_screen_name": _handle(rng) if reply else None,
        "user": _user(rng),
        "coordinates": geo,
        "retweet_count": min(int(rng.paretovariate(1.2)) - 1, 10**7),
        "favorite_count": min(int(rng.paretovariate(1.0)) - 1, 10**7),
        "entities": {"hashtags": hashtags, "urls": urls, "user_mentions": mentions},
        "favorited": rng.random() < 0.1,
        "retweeted": rng.random() < 0.1,
        "possibly_sensitive": (rng.random() < 0.1) if urls else None,
        "lang": lang,
    }
    if allow_retweet and rng.random() < 0.2:
        tweet["retweeted_status"] = _tweet(rng, allow_retweet=False)
    return tweet


def _tweet_json(tweet: dict, api_style: bool) -> str:
    if not api_style:
        return json.dumps(tweet, ensure_ascii=False, separators=(",", ":"))
    # Twitter API style. "/" only ever occurs inside strings in JSON and is never part of an
    # escape sequence, so rewriting every "/" as "\/" keeps the document valid and equal.
    return json.dumps(tweet, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


# --- geometry -------------------------------------------------------------------------------------


def _ring(rng: random.Random, cx: float, cy: float, radius: float, points: int) -> list:
    """A closed, roughly circular ring with jittered radius (first point repeated at the end)."""
    ring = []
    phase = rng.random() * tau
    for i in range(points):
        a = phase + tau * i / points
        r = radius * (0.75 + 0.5 * rng.random())
        ring.append([_float(cx + r * cos(a), 6), _float(cy + r * sin(a), 6)])
    ring.append(list(ring[0]))
    return ring


def _feature(rng: random.Random, fid: int, points: int) -> dict:
    cx, cy = rng.uniform(-170, 170), rng.uniform(-75, 75)
    radius = rng.uniform(0.05, 2.0)
    n = max(4, int(rng.gauss(points, points / 4)))
    rings = [_ring(rng, cx, cy, radius, n)]
    for _ in range(rng.choice([0, 0, 0, 1, 2])):  # holes
        rings.append(_ring(rng, cx + radius * 0.1, cy - radius * 0.1, radius * 0.2, max(4, n // 8)))
    xs = [p[0] for p in rings[0]]
    ys = [p[1] for p in rings[0]]
    population = rng.randrange(100, 20_000_000)
    area = _float(rng.uniform(1, 90000), 3)
    return {
        "type": "Feature",
        "id": fid,
        "bbox": [min(xs), min(ys), max(xs), max(ys)],
        "properties": {
            "name": rng.choice(_PLACES),
            "country": rng.choice(_COUNTRIES),
            "population": population,
            "area_km2": area,
            "density": _float(population / area, 2),
            "elevation_m": rng.randint(-400, 4000),
            "capital": rng.random() < 0.1,
            "note": _sentence(rng, "en", 3, 8) if rng.random() < 0.1 else None,
        },
        "geometry": {"type": "Polygon", "coordinates": rings},
    }


# --- entry point ----------------------------------------------------------------------------------


def generate(
    rng: random.Random, tweets: int = 500, features: int = 10, points: int = 1000
) -> bytes:
    """Return the document: `tweets` tweets and `features` polygons of about `points` points each.

    About 2 KB per tweet (a fifth of them embed a retweeted tweet) and 24 bytes per point.
    """
    parts = ['{"tweets":[']
    for i in range(tweets):
        if i:
            parts.append(",")
        parts.append(_tweet_json(_tweet(rng), api_style=i % 2 == 0))
    parts.append('],"geometry":{"type":"FeatureCollection","features":[')
    for i in range(features):
        if i:
            parts.append(",")
        parts.append(
            json.dumps(_feature(rng, i + 1, points), ensure_ascii=False, separators=(",", ":"))
        )
    parts.append("]}}")
    return "".join(parts).encode("utf-8")
