//! Aggregates a web access log in Combined Log Format.
//!
//! Each line is parsed at the byte level on `&[u8]` (no regex) into status, response size and
//! request path. The byte search used for line ends, spaces and quotes is a type parameter: the
//! default `logparse` binary uses [`MemchrSearch`] (the memchr crate, SIMD, what Rust users reach
//! for, as Go's default uses `bytes.IndexByte`), the `logparse-std` variant [`StdSearch`] (the
//! standard library only, byte at a time). The parser counts requests and sums bytes per status and per path
//! (the request target without its query string), then renders the aggregates as canonical text:
//! statuses ascending, then the 50 most requested paths (count descending, ties by path
//! ascending). The checksum is FNV-1a 64 of that text.
//!
//! A line is malformed (counted, otherwise ignored) unless it has the shape
//!
//! ```text
//! HOST IDENT USER [TIME] "METHOD TARGET PROTO" STATUS SIZE "REFERER" "AGENT"
//! ```
//!
//! with non-empty space-free HOST/IDENT/USER/METHOD/TARGET/PROTO, STATUS exactly three digits and
//! SIZE either `-` (0 bytes) or 1 to 18 digits. `workloads/docs/logparse.md` has the exact rules.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::marker::PhantomData;
use std::process::ExitCode;
use std::time::Instant;

/// How many paths the rendering lists.
const TOP_PATHS: usize = 50;

/// Finds the first occurrence of a byte; the one thing the variants change.
pub trait ByteSearch {
    fn find(needle: u8, haystack: &[u8]) -> Option<usize>;
}

/// The default's search: the memchr crate (SSE2/AVX2 chosen at run time), the crate regex and
/// bstr use; Go's `bytes.IndexByte` is likewise SIMD assembly.
pub struct MemchrSearch;

impl ByteSearch for MemchrSearch {
    fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
        memchr::memchr(needle, haystack)
    }
}

/// The standard library's search (the `logparse-std` variant): `Iterator::position` over the
/// slice, which compiles to a byte-at-a-time loop.
pub struct StdSearch;

impl ByteSearch for StdSearch {
    fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
        haystack.iter().position(|&b| b == needle)
    }
}

/// One well-formed line, borrowing its path from the input.
struct Entry<'a> {
    status: usize,
    size: u64,
    path: &'a [u8],
}

#[derive(Clone, Copy, Default)]
struct Totals {
    count: u64,
    bytes: u64,
}

/// The aggregates over the whole log; path keys borrow from the input buffer.
pub struct Stats<'a> {
    lines: u64,
    malformed: u64,
    status: [Totals; 1000], // indexed by the three-digit status
    paths: HashMap<&'a [u8], Totals>,
}

/// Parsing rules, with the byte search `S`.
struct Parser<S>(PhantomData<S>);

impl<S: ByteSearch> Parser<S> {
    /// Splits at the first `sep`: the bytes before it and the bytes after it.
    fn cut(s: &[u8], sep: u8) -> Option<(&[u8], &[u8])> {
        let i = S::find(sep, s)?;
        Some((&s[..i], &s[i + 1..]))
    }

    /// The non-empty token before the next space, and the rest after that space.
    fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
        Self::cut(s, b' ').filter(|(tok, _)| !tok.is_empty())
    }

    /// Extracts status, size and path from one line; `None` for a malformed line.
    fn parse_line(line: &[u8]) -> Option<Entry<'_>> {
        let (_host, rest) = Self::field(line)?;
        let (_ident, rest) = Self::field(rest)?;
        let (_user, rest) = Self::field(rest)?;
        // [TIME] followed by ` "`.
        let (_time, rest) = Self::cut(rest.strip_prefix(b"[")?, b']')?;
        // "METHOD TARGET PROTO" followed by a space.
        let (request, rest) = Self::cut(rest.strip_prefix(b" \"")?, b'"')?;
        let rest = rest.strip_prefix(b" ")?;
        let (_method, request) = Self::field(request)?;
        let (target, proto) = Self::field(request)?;
        if proto.is_empty() || S::find(b' ', proto).is_some() {
            return None;
        }
        let path = Self::cut(target, b'?').map_or(target, |(path, _)| path);

        // STATUS: exactly three digits, then a space.
        if rest.len() < 4 || rest[3] != b' ' {
            return None;
        }
        let status = digits(&rest[..3])? as usize;
        // SIZE: "-" or 1..18 digits (so that it cannot overflow), then a space.
        let (size, rest) = Self::field(&rest[4..])?;
        let size = match size {
            b"-" => 0,
            _ if size.len() > 18 => return None,
            _ => digits(size)?,
        };
        // "REFERER" "AGENT" and nothing after the closing quote.
        let (_referer, rest) = Self::cut(rest.strip_prefix(b"\"")?, b'"')?;
        let agent = rest.strip_prefix(b" \"")?;
        if agent.last() != Some(&b'"') {
            return None;
        }
        Some(Entry { status, size, path })
    }
}

/// Parses `s` as a decimal number; `None` unless every byte is an ASCII digit.
fn digits(s: &[u8]) -> Option<u64> {
    s.iter().try_fold(0u64, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u64::from(c - b'0'))
    })
}

/// Parses every line of the log. A final newline ends the last line; it does not start an empty
/// one.
pub fn aggregate<S: ByteSearch>(input: &[u8]) -> Stats<'_> {
    let mut s = Stats {
        lines: 0,
        malformed: 0,
        status: [Totals::default(); 1000],
        paths: HashMap::new(),
    };
    let mut rest = input;
    while !rest.is_empty() {
        let line;
        (line, rest) = Parser::<S>::cut(rest, b'\n').unwrap_or((rest, &[]));
        s.lines += 1;
        let Some(e) = Parser::<S>::parse_line(line) else {
            s.malformed += 1;
            continue;
        };
        let st = &mut s.status[e.status];
        st.count += 1;
        st.bytes += e.size;
        let p = s.paths.entry(e.path).or_default();
        p.count += 1;
        p.bytes += e.size;
    }
    s
}

impl Stats<'_> {
    /// The canonical text of the aggregates.
    pub fn render(&self) -> String {
        let mut out = String::new();
        writeln!(out, "lines {}\nmalformed {}", self.lines, self.malformed).unwrap();
        for (code, st) in self.status.iter().enumerate() {
            if st.count > 0 {
                writeln!(out, "status {code} {} {}", st.count, st.bytes).unwrap();
            }
        }
        writeln!(out, "paths {}", self.paths.len()).unwrap();
        let mut paths: Vec<(&[u8], Totals)> = self.paths.iter().map(|(&k, &v)| (k, v)).collect();
        paths.sort_unstable_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        for (path, t) in paths.iter().take(TOP_PATHS) {
            // The generator only emits ASCII paths, so the lossy conversion never changes a byte.
            let path = String::from_utf8_lossy(path);
            writeln!(out, "path {} {} {path}", t.count, t.bytes).unwrap();
        }
        out
    }
}

/// FNV-1a 64 over `data`.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The whole program for the binary `name`: read the input named on the command line, aggregate
/// it with the byte search `S`, print the canonical text and the contract's JSON line.
pub fn run<S: ByteSearch>(name: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: {name} INPUT");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("{name}: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };

    let start = Instant::now();
    let stats = aggregate::<S>(&input);
    let text = stats.render();
    let elapsed = start.elapsed().as_secs_f64();
    let sum = fnv1a64(text.as_bytes());

    // The canonical text first (handy for diffing the two sides), then the contract's JSON line.
    print!("{text}");
    println!(
        "{{\"checksum\":\"{sum:016x}\",\"items\":{},\"bytes\":{},\"work_seconds\":{elapsed}}}",
        stats.lines,
        input.len()
    );
    ExitCode::SUCCESS
}
