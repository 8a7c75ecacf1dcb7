"""Mixed text + binary corpus for the gzip workload.

Real files that get gzipped (tarballs, HTTP bodies, backups) are neither all text nor all noise, and
deflate's speed depends heavily on how much redundancy it finds. So the corpus is a concatenation of
"files" of five kinds, each a few KiB to a few tens of KiB long, chosen at random by byte share:

- prose (~35 %): English-like sentences and paragraphs, words drawn from a fixed list of common
  English words plus a long tail of made-up words, with Zipf (1/rank) frequencies;
- source code (~25 %): C/Go-like functions with indentation, keywords, Zipf-distributed identifiers,
  literals and comments;
- records (~20 %): CSV rows and key=value log lines with increasing timestamps, ids and levels;
- binary structs (~15 %): little-endian fixed-size records (increasing ids, small integers, floats
  following a random walk, flag bytes, zero padding), like a telemetry or game-save dump;
- incompressible (~5 %): random bytes, standing in for already-compressed images or archives.

With the shares above, gzip -6 compresses the corpus roughly 3x (see workloads/docs/gzip.md).
The output is exactly `mebibytes` MiB long and depends only on the rng seed and the parameters.
"""

from __future__ import annotations

import gzip
import itertools
import random
import struct
import time

# The most common English words, most frequent first; their rank sets their Zipf weight.
_COMMON_WORDS_TEXT = """
the of and to a in is it you that he was for on are with as I his they be at one have this from or
had by not word but what some we can out other were all there when up use your how said an each she
which do their time if will way about many then them write would like so these her long make thing
see him two has look more day could go come did number sound no most people my over know water than
call first who may down side been now find any new work part take get place made live where after
back little only round man year came show every good me give our under name very through just form
sentence great think say help low line differ turn cause much mean before move right boy old too
same tell does set three want air well also play small end put home read hand port large spell add
even land here must big high such follow act why ask men change went light kind off need house
picture try us again animal point mother world near build self earth father head stand own page
should country found answer school grow study still learn plant cover food sun four between state
keep eye never last let thought city tree cross farm hard start might story saw far sea draw left
late run while press close night real life few north open seem together next white children begin
got walk example ease paper group always music those both mark often letter until mile river car
feet care second book carry took science eat room friend began idea fish mountain stop once base
hear horse cut sure watch color face wood main enough plain girl usual young ready above ever red
list though feel talk bird soon body dog family direct pose leave song measure door product black
short numeral class wind question happen complete ship area half rock order fire south problem piece
told knew pass since top whole king space heard best hour better true during hundred five remember
step early hold west ground interest reach fast verb sing listen six table travel less morning ten
simple several vowel toward war lay against pattern slow center love person money serve appear road
map rain rule govern pull cold notice voice unit power town fine certain fly fall lead cry dark
machine note wait plan figure star box noun field rest correct able pound done beauty drive stood
contain front teach week final gave green quick develop ocean warm free minute strong special mind
behind clear tail produce fact street inch multiply nothing course stay wheel full force blue object
decide surface deep moon island foot system busy test record boat common gold possible plane stead
dry wonder laugh thousand ago ran check game shape equate miss brought heat snow tire bring yes
distant fill east paint language among
"""
COMMON_WORDS = _COMMON_WORDS_TEXT.split()

# Syllables for the made-up long tail of the vocabulary (rare words, names, jargon).
_SYLLABLES_TEXT = (
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo ga ge gi go ka ke ki ko la le li lo "
    "lu ma me mi mo mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu "
    "va ve vi vo za ze zi zo ar er ir or ur an en in on un al el il ol ul st tr pl gr ch sh th"
)
SYLLABLES = _SYLLABLES_TEXT.split()

LOOP_KEYWORDS = ["if", "for", "while"]
CODE_TYPES = [
    "int",
    "uint32_t",
    "size_t",
    "char *",
    "const char *",
    "double",
    "bool",
    "struct node *",
]
_IDENT_PARTS_TEXT = (
    "buf len count index offset size node next prev head tail value key hash table entry item list "
    "data ptr result err status flags mode start end pos cursor block chunk page cache state ctx "
    "config option name path file line token parser writer reader stream header body"
)
CODE_IDENT_PARTS = _IDENT_PARTS_TEXT.split()

LOG_LEVELS = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 3 + ["ERROR"]
SERVICES = ["api", "auth", "billing", "search", "worker", "gateway", "scheduler", "storage"]
HTTP_PATHS = [
    "/v1/users",
    "/v1/orders",
    "/v1/items",
    "/health",
    "/v2/search",
    "/login",
    "/static/app.js",
]
HTTP_STATUSES = [200] * 9 + [404, 500]
ORDER_STATES = ["ok", "ok", "ok", "refunded"]
PHRASE_SHARE = 0.2  # share of prose tokens that are a stock phrase rather than a single word
CITIES = [
    "London",
    "Paris",
    "Berlin",
    "Madrid",
    "Rome",
    "Vienna",
    "Oslo",
    "Lisbon",
    "Prague",
    "Dublin",
]


def _zipf_cum_weights(n: int, s: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


class _Corpus:
    def __init__(self, rng: random.Random):
        self.rng = rng
        tail = {
            "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(4000)
        }
        # Sorted before shuffling so the vocabulary does not depend on set iteration order.
        tail_words = sorted(tail - set(COMMON_WORDS))
        rng.shuffle(tail_words)
        self.words = COMMON_WORDS + tail_words
        self.word_cw = _zipf_cum_weights(len(self.words))
        # Word-by-word Zipf text compresses worse than real English, which repeats whole phrases
        # ("one of the", "at the end"); a Zipf-weighted pool of short phrases puts that back.
        self.phrases = [
            " ".join(rng.choices(self.words, cum_weights=self.word_cw, k=rng.randint(2, 4)))
            for _ in range(2000)
        ]
        self.phrase_cw = _zipf_cum_weights(len(self.phrases))
        idents = {a + b.capitalize() for a in CODE_IDENT_PARTS for b in CODE_IDENT_PARTS if a != b}
        self.idents = sorted(idents)
        rng.shuffle(self.idents)
        self.ident_cw = _zipf_cum_weights(len(self.idents))
        self.clock = 1_700_000_000.0  # log/CSV timestamps keep increasing across chunks
        self.record_id = 1

    def prose(self, size: int) -> bytes:
        rng, out, n = self.rng, [], 0
        while n < size:
            paragraph = []
            for _ in range(rng.randint(3, 8)):
                words = rng.choices(self.words, cum_weights=self.word_cw, k=rng.randint(5, 16))
                for i in range(len(words)):
                    if rng.random() < PHRASE_SHARE:
                        words[i] = rng.choices(self.phrases, cum_weights=self.phrase_cw)[0]
                words[0] = words[0].capitalize()
                if len(words) > 6 and rng.random() < 0.4:
                    words[rng.randint(3, len(words) - 4)] += ","
                paragraph.append(" ".join(words) + rng.choice(".....?!"))
            text = " ".join(paragraph) + "\n\n"
            out.append(text)
            n += len(text)
        return "".join(out).encode()

    def code(self, size: int) -> bytes:
        rng, out, n = self.rng, [], 0

        def ident() -> str:
            return rng.choices(self.idents, cum_weights=self.ident_cw)[0]

        while n < size:
            lines = [f"/* {' '.join(rng.choices(self.words, cum_weights=self.word_cw, k=8))} */"]
            params = [f"{rng.choice(CODE_TYPES)} {ident()}" for _ in range(rng.randint(1, 3))]
            args = ", ".join(params)
            lines.append(f"static {rng.choice(CODE_TYPES)} {ident()}({args}) {{")
            depth = 1
            for _ in range(rng.randint(4, 20)):
                pad = "    " * depth
                r = rng.random()
                if r < 0.3:
                    decl = f"{rng.choice(CODE_TYPES)} {ident()}"
                    lines.append(f"{pad}{decl} = {ident()} + {rng.randint(0, 64)};")
                elif r < 0.5 and depth < 4:
                    kw = rng.choice(LOOP_KEYWORDS)
                    lines.append(f"{pad}{kw} ({ident()} < {ident()}->{ident()}) {{")
                    depth += 1
                elif r < 0.6 and depth > 1:
                    depth -= 1
                    lines.append("    " * depth + "}")
                elif r < 0.8:
                    lines.append(f"{pad}{ident()} = {ident()}({ident()}, {ident()});")
                elif r < 0.9:
                    lines.append(f'{pad}log_debug("{ident()}: %d\\n", {ident()});')
                else:
                    lines.append(f"{pad}return {ident()};")
            while depth > 0:
                depth -= 1
                lines.append("    " * depth + "}")
            text = "\n".join(lines) + "\n\n"
            out.append(text)
            n += len(text)
        return "".join(out).encode()

    def records(self, size: int) -> bytes:
        rng, out, n = self.rng, [], 0
        csv = rng.random() < 0.5
        if csv:
            header = "id,timestamp,user,city,amount,quantity,status\n"
            out.append(header)
            n += len(header)
        while n < size:
            self.clock += rng.expovariate(20.0)
            self.record_id += 1
            user = rng.choices(self.words, cum_weights=self.word_cw)[0]
            if csv:
                line = (
                    f"{self.record_id},{self.clock:.3f},{user},{rng.choice(CITIES)},"
                    f"{rng.uniform(1, 500):.2f},{rng.randint(1, 12)},{rng.choice(ORDER_STATES)}\n"
                )
            else:
                ms = int(self.clock * 1000) % 1000
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.clock))
                level, service = rng.choice(LOG_LEVELS), rng.choice(SERVICES)
                path, status = rng.choice(HTTP_PATHS), rng.choice(HTTP_STATUSES)
                latency = rng.lognormvariate(2, 0.8)
                line = (
                    f"{stamp}.{ms:03d}Z {level:5} [{service}] request handled method=GET "
                    f"path={path} user={user} status={status} latency_ms={latency:.1f} "
                    f"req_id={rng.getrandbits(32):08x}\n"
                )
            out.append(line)
            n += len(line)
        return "".join(out).encode()

    def binary(self, size: int) -> bytes:
        # 32-byte records: id u32, kind u16, delta i16, value f32, scale f64, flags u8, 7 zero bytes
        rng, rec = self.rng, struct.Struct("<IHhfdB7x")
        out = bytearray()
        value = rng.uniform(-100, 100)
        ident = rng.randrange(1 << 20)
        while len(out) < size:
            ident += rng.randint(1, 3)
            value += rng.gauss(0, 1)
            scale = rng.choice((0.5, 1.0, 1.0, 2.0, 10.0))
            flags = rng.choice((0, 1, 1, 3))
            out += rec.pack(ident, rng.randrange(16), rng.randint(-50, 50), value, scale, flags)
        return bytes(out)

    def noise(self, size: int) -> bytes:
        return self.rng.randbytes(size)


def generate(
    rng: random.Random, mebibytes: int = 32, reference_gzip_level: int = 0, **_params
) -> bytes:
    """Exactly `mebibytes` MiB of mixed text and binary data; with `reference_gzip_level` 1-9, that
    corpus as one gzip member written by Python's zlib at that level (mtime 0, so the bytes depend
    only on the seed, the parameters and the zlib build). The gzip workload reads the latter: a
    reference stream made by neither side's library, so every implementation decompresses the
    same bytes (workloads/docs/gzip.md)."""
    corpus = _corpus_bytes(rng, mebibytes)
    if not reference_gzip_level:
        return corpus
    if not 1 <= reference_gzip_level <= 9:
        raise ValueError(f"reference_gzip_level must be 0 (none) or 1-9, got {reference_gzip_level}")
    return gzip.compress(corpus, compresslevel=reference_gzip_level, mtime=0)


def _corpus_bytes(rng: random.Random, mebibytes: int) -> bytes:
    """Exactly `mebibytes` MiB of mixed text and binary data."""
    target = mebibytes * 1024 * 1024
    corpus = _Corpus(rng)
    kinds = [corpus.prose, corpus.code, corpus.records, corpus.binary, corpus.noise]
    shares = [35, 25, 20, 15, 5]
    chunks: list[bytes] = []
    total = 0
    while total < target:
        make = rng.choices(kinds, weights=shares)[0]
        chunk = make(rng.randint(4 * 1024, 64 * 1024))
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)[:target]
