//! Typed document model of the json workload, shared by the default implementation (serde_json)
//! and its variants. Field order, names and types mirror the Go package
//! `workloads/go/json/model`; the encoded output must be byte-identical.
//!
//! [`serde_json_main`] is the default implementation's whole program; the allocator variants
//! (`json-mimalloc`, `json-jemalloc`) run exactly it with another `#[global_allocator]`.

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The whole input document.
#[derive(Debug, Serialize, Deserialize)]
pub struct Corpus {
    pub tweets: Vec<Tweet>,
    pub geometry: FeatureCollection,
}

impl Corpus {
    /// Documents in the corpus: tweets plus geometry features.
    pub fn items(&self) -> usize {
        self.tweets.len() + self.geometry.features.len()
    }
}

/// A Twitter API v1.1 style status. Nullable fields are `Option`s (JSON null round-trips as
/// null); `retweeted_status` is absent, not null, when the tweet is no retweet.
#[derive(Debug, Serialize, Deserialize)]
pub struct Tweet {
    pub created_at: String,
    pub id: u64,
    pub id_str: String,
    pub text: String,
    pub source: String,
    pub truncated: bool,
    pub in_reply_to_status_id: Option<u64>,
    pub in_reply_to_user_id: Option<u64>,
    pub in_reply_to_screen_name: Option<String>,
    pub user: User,
    pub coordinates: Option<Point>,
    pub retweet_count: i64,
    pub favorite_count: i64,
    pub entities: Entities,
    pub favorited: bool,
    pub retweeted: bool,
    pub possibly_sensitive: Option<bool>,
    pub lang: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweeted_status: Option<Box<Tweet>>,
}

/// The author of a tweet.
#[derive(Debug, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub id_str: String,
    pub name: String,
    pub screen_name: String,
    pub location: String,
    pub description: String,
    pub url: Option<String>,
    pub protected: bool,
    pub followers_count: i64,
    pub friends_count: i64,
    pub listed_count: i64,
    pub created_at: String,
    pub favourites_count: i64,
    pub utc_offset: Option<i32>,
    pub time_zone: Option<String>,
    pub geo_enabled: bool,
    pub verified: bool,
    pub statuses_count: i64,
    pub lang: String,
    pub profile_background_color: String,
    pub profile_image_url_https: String,
    pub default_profile: bool,
}

/// A GeoJSON point: `[longitude, latitude]`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Point {
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: [f64; 2],
}

/// Hashtags, links and mentions found in a tweet's text.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entities {
    pub hashtags: Vec<Hashtag>,
    pub urls: Vec<Url>,
    pub user_mentions: Vec<Mention>,
}

/// A #tag; `indices` are the code-point offsets of the tag in the text.
#[derive(Debug, Serialize, Deserialize)]
pub struct Hashtag {
    pub text: String,
    pub indices: [u32; 2],
}

/// A shortened link with its expansion.
#[derive(Debug, Serialize, Deserialize)]
pub struct Url {
    pub url: String,
    pub expanded_url: String,
    pub display_url: String,
    pub indices: [u32; 2],
}

/// An @user reference.
#[derive(Debug, Serialize, Deserialize)]
pub struct Mention {
    pub screen_name: String,
    pub name: String,
    pub id: u64,
    pub id_str: String,
    pub indices: [u32; 2],
}

/// A GeoJSON collection of polygon features.
#[derive(Debug, Serialize, Deserialize)]
pub struct FeatureCollection {
    #[serde(rename = "type")]
    pub kind: String,
    pub features: Vec<Feature>,
}

/// One polygon with its bounding box `[min_x, min_y, max_x, max_y]` and properties.
#[derive(Debug, Serialize, Deserialize)]
pub struct Feature {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: u64,
    pub bbox: [f64; 4],
    pub properties: Properties,
    pub geometry: Polygon,
}

/// What a feature outlines.
#[derive(Debug, Serialize, Deserialize)]
pub struct Properties {
    pub name: String,
    pub country: String,
    pub population: u64,
    pub area_km2: f64,
    pub density: f64,
    pub elevation_m: i32,
    pub capital: bool,
    pub note: Option<String>,
}

/// A GeoJSON polygon: an outer ring followed by holes, each a closed list of points.
#[derive(Debug, Serialize, Deserialize)]
pub struct Polygon {
    #[serde(rename = "type")]
    pub kind: String,
    pub coordinates: Vec<Vec<[f64; 2]>>,
}

/// The default implementation: reads the input named on the command line, decodes it into a
/// [`Corpus`] with serde_json, re-encodes the whole corpus with serde_json and prints the result
/// line. `program` names the binary in the usage message. The corpus is dropped on return, outside
/// `work_seconds` but inside wall time.
pub fn serde_json_main(program: &str) {
    let input = read_input(program);

    let start = Instant::now();
    let corpus: Corpus =
        serde_json::from_slice(&input).unwrap_or_else(|e| fail(&format!("decode: {e}")));
    let out = serde_json::to_vec(&corpus).unwrap_or_else(|e| fail(&format!("encode: {e}")));
    let elapsed = start.elapsed().as_secs_f64();

    report(&out, corpus.items(), input.len(), elapsed);
}

/// What a front of the json-service hybrid answers for one corpus (workloads/docs/json-service.md):
/// the documents in it and the length and FNV-1a 64 of its compact re-encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub items: u64,
    pub bytes: u64,
    /// FNV-1a 64 of the re-encoding, 16 lowercase hex digits.
    pub checksum: String,
}

impl Summary {
    /// `{"items":N,"bytes":M,"checksum":"..."}`: no spaces, no newline.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"items\":{},\"bytes\":{},\"checksum\":\"{}\"}}",
            self.items, self.bytes, self.checksum
        )
    }
}

/// The workload's work on one corpus, as [`serde_json_main`] does it (serde_json decode into
/// [`Corpus`], then re-encode), summarised; an error when `input` is not JSON of the model's shape.
pub fn summarize(input: &[u8]) -> serde_json::Result<Summary> {
    let corpus: Corpus = serde_json::from_slice(input)?;
    let out = serde_json::to_vec(&corpus)?;
    Ok(Summary {
        items: corpus.items() as u64,
        bytes: out.len() as u64,
        checksum: format!("{:016x}", fnv1a64(&out)),
    })
}

/// FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Prints the result line of the workload contract for the encoded output `out`.
pub fn report(out: &[u8], items: usize, input_bytes: usize, work_seconds: f64) {
    println!(
        "{{\"checksum\":\"{:016x}\",\"items\":{},\"bytes\":{},\"work_seconds\":{:.6},\"extra\":{{\"output_bytes\":{}}}}}",
        fnv1a64(out),
        items,
        input_bytes,
        work_seconds,
        out.len()
    );
}

/// Reads the input file named by the single command-line argument, exiting with a usage message
/// on stderr otherwise.
pub fn read_input(program: &str) -> Vec<u8> {
    let mut args = std::env::args().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: {program} INPUT");
        std::process::exit(2);
    };
    std::fs::read(&path).unwrap_or_else(|e| fail(&format!("{path}: {e}")))
}

/// Prints `msg` on stderr and exits with status 1.
pub fn fail(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(1);
}
