// Package model holds the typed document model of the json workload, shared by the default
// implementation (encoding/json) and its variants so that every library decodes into and encodes
// from exactly the same structs. The field order, names and types mirror the Rust crate
// workloads/rust/crates/json/src/lib.rs; the encoded output must be byte-identical.
package model

import "fmt"

// Corpus is the whole input document.
type Corpus struct {
	Tweets   []Tweet           `json:"tweets"`
	Geometry FeatureCollection `json:"geometry"`
}

// Items counts the documents in the corpus: tweets plus geometry features.
func (c *Corpus) Items() int {
	return len(c.Tweets) + len(c.Geometry.Features)
}

// Tweet is a Twitter API v1.1 style status. Nullable fields are pointers so that JSON null
// round-trips as null; RetweetedStatus is absent (not null) when the tweet is no retweet.
type Tweet struct {
	CreatedAt           string   `json:"created_at"`
	ID                  uint64   `json:"id"`
	IDStr               string   `json:"id_str"`
	Text                string   `json:"text"`
	Source              string   `json:"source"`
	Truncated           bool     `json:"truncated"`
	InReplyToStatusID   *uint64  `json:"in_reply_to_status_id"`
	InReplyToUserID     *uint64  `json:"in_reply_to_user_id"`
	InReplyToScreenName *string  `json:"in_reply_to_screen_name"`
	User                User     `json:"user"`
	Coordinates         *Point   `json:"coordinates"`
	RetweetCount        int64    `json:"retweet_count"`
	FavoriteCount       int64    `json:"favorite_count"`
	Entities            Entities `json:"entities"`
	Favorited           bool     `json:"favorited"`
	Retweeted           bool     `json:"retweeted"`
	PossiblySensitive   *bool    `json:"possibly_sensitive"`
	Lang                string   `json:"lang"`
	RetweetedStatus     *Tweet   `json:"retweeted_status,omitempty"`
}

// User is the author of a tweet.
type User struct {
	ID                     uint64  `json:"id"`
	IDStr                  string  `json:"id_str"`
	Name                   string  `json:"name"`
	ScreenName             string  `json:"screen_name"`
	Location               string  `json:"location"`
	Description            string  `json:"description"`
	URL                    *string `json:"url"`
	Protected              bool    `json:"protected"`
	FollowersCount         int64   `json:"followers_count"`
	FriendsCount           int64   `json:"friends_count"`
	ListedCount            int64   `json:"listed_count"`
	CreatedAt              string  `json:"created_at"`
	FavouritesCount        int64   `json:"favourites_count"`
	UTCOffset              *int32  `json:"utc_offset"`
	TimeZone               *string `json:"time_zone"`
	GeoEnabled             bool    `json:"geo_enabled"`
	Verified               bool    `json:"verified"`
	StatusesCount          int64   `json:"statuses_count"`
	Lang                   string  `json:"lang"`
	ProfileBackgroundColor string  `json:"profile_background_color"`
	ProfileImageURLHTTPS   string  `json:"profile_image_url_https"`
	DefaultProfile         bool    `json:"default_profile"`
}

// Point is a GeoJSON point: [longitude, latitude].
type Point struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

// Entities are the hashtags, links and mentions found in a tweet's text.
type Entities struct {
	Hashtags     []Hashtag `json:"hashtags"`
	URLs         []URL     `json:"urls"`
	UserMentions []Mention `json:"user_mentions"`
}

// Hashtag is a #tag; Indices are the code-point offsets of the tag in the text.
type Hashtag struct {
	Text    string    `json:"text"`
	Indices [2]uint32 `json:"indices"`
}

// URL is a shortened link with its expansion.
type URL struct {
	URL         string    `json:"url"`
	ExpandedURL string    `json:"expanded_url"`
	DisplayURL  string    `json:"display_url"`
	Indices     [2]uint32 `json:"indices"`
}

// Mention is an @user reference.
type Mention struct {
	ScreenName string    `json:"screen_name"`
	Name       string    `json:"name"`
	ID         uint64    `json:"id"`
	IDStr      string    `json:"id_str"`
	Indices    [2]uint32 `json:"indices"`
}

// FeatureCollection is a GeoJSON collection of polygon features.
type FeatureCollection struct {
	Type     string    `json:"type"`
	Features []Feature `json:"features"`
}

// Feature is one polygon with its bounding box [minX, minY, maxX, maxY] and properties.
type Feature struct {
	Type       string     `json:"type"`
	ID         uint64     `json:"id"`
	BBox       [4]float64 `json:"bbox"`
	Properties Properties `json:"properties"`
	Geometry   Polygon    `json:"geometry"`
}

// Properties describe the place a feature outlines.
type Properties struct {
	Name       string  `json:"name"`
	Country    string  `json:"country"`
	Population uint64  `json:"population"`
	AreaKm2    float64 `json:"area_km2"`
	Density    float64 `json:"density"`
	ElevationM int32   `json:"elevation_m"`
	Capital    bool    `json:"capital"`
	Note       *string `json:"note"`
}

// Polygon is a GeoJSON polygon: an outer ring followed by holes, each a closed list of points.
type Polygon struct {
	Type        string         `json:"type"`
	Coordinates [][][2]float64 `json:"coordinates"`
}

// TrimNewline drops the newline that json.Encoder-style encoders append, so that the checksummed
// output is exactly the compact JSON document (what serde_json::to_vec produces).
func TrimNewline(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		return b[:n-1]
	}
	return b
}

// Report prints the result line of the workload contract: FNV-1a 64 of out, the number of
// documents, the input size and the measured work time.
func Report(out []byte, items, inputBytes int, workSeconds float64) {
	fmt.Printf("{\"checksum\":\"%016x\",\"items\":%d,\"bytes\":%d,\"work_seconds\":%.6f,\"extra\":{\"output_bytes\":%d}}\n",
		fnv1a64(out), items, inputBytes, workSeconds, len(out))
}

// Checksum is the workload's checksum of out: FNV-1a 64 as 16 lowercase hex digits (what Report
// prints), for the programs that answer with it instead of printing it (json-front).
func Checksum(out []byte) string {
	return fmt.Sprintf("%016x", fnv1a64(out))
}

func fnv1a64(data []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, b := range data {
		h ^= uint64(b)
		h *= 0x100000001b3
	}
	return h
}
