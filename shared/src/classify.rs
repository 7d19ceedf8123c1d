//! Snapshot -> intent: does this bucket serve public content, or hold sensitive data?
//!
//! Pure: no I/O. Each signal that fires adds its weight to the intent it points to, and is
//! reported as a [`Reason`]; the larger sum wins, `sensitive-data` winning ties. The owner's
//! `bucketward:intent` tag is authoritative. Conflicting signals lower the confidence; a bucket
//! with no signal at all is `unknown`.
//!
//! The weights are measured against the labelled corpus in `tests/fixtures/intent/`
//! (`cargo test -p bucketward-tests --test intent_fixtures -- --nocapture`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::policy::{Effect, Principal};
use crate::snapshot::{ObjectSnapshot, Snapshot};

// ---------------------------------------------------------------------------------------------
// Weights: what one signal adds to the score of the intent it points to.
// ---------------------------------------------------------------------------------------------

/// The `bucketward:intent` tag: the owner's word. It decides the intent on its own; its weight
/// only enters the confidence.
pub const INTENT_TAG_WEIGHT: f64 = 10.0;
/// A `data-classification` tag (`public`, or `confidential`, `restricted`, ...).
pub const CLASSIFICATION_TAG_WEIGHT: f64 = 3.0;
/// A `public` tag set to `true` or `yes`.
pub const PUBLIC_TAG_WEIGHT: f64 = 2.0;
/// Static website hosting is configured.
pub const WEBSITE_WEIGHT: f64 = 2.0;
/// The bucket policy lets CloudFront read it (OAC or OAI): content served through a CDN.
pub const CLOUDFRONT_WEIGHT: f64 = 2.0;
/// Each distinct telling token of the bucket name.
pub const NAME_TOKEN_WEIGHT: f64 = 1.0;
/// A name token that states the audience ([`EXPLICIT_NAME_TOKENS`]) rather than the content.
pub const EXPLICIT_NAME_TOKEN_WEIGHT: f64 = 2.0;
/// The sampled objects' content types, scaled by the share of the majority kind.
pub const CONTENT_TYPE_WEIGHT: f64 = 1.5;
/// What one archive counts for among the sampled objects, a table or dump counting 1: archives
/// hold backups and exports, but also public downloads and releases.
pub const ARCHIVE_OBJECT_SHARE: f64 = 0.5;
/// Default encryption with a KMS key.
pub const KMS_WEIGHT: f64 = 1.0;
/// The winning score at which an unopposed intent reaches a confidence of one half.
pub const CONFIDENCE_HALF_SCORE: f64 = 1.0;
/// Scores closer than this are a tie (content weights are fractions).
const TIE_TOLERANCE: f64 = 1e-9;

// ---------------------------------------------------------------------------------------------
// Vocabularies.
// ---------------------------------------------------------------------------------------------

/// Name tokens of buckets that serve public content: the issue's list, then singular and short
/// forms (`asset`, `image`, `img`, `download`) and synonyms of `website` (`site`, `web`).
pub const PUBLIC_NAME_TOKENS: &[&str] = &[
    "cdn",
    "assets",
    "static",
    "www",
    "media",
    "images",
    "public",
    "docs",
    "website",
    "downloads",
    // plural, singular and short forms
    "asset",
    "image",
    "img",
    "imgs",
    "download",
    // synonyms
    "site",
    "web",
];

/// Name tokens of buckets that hold sensitive data: the issue's list, then plural and singular
/// forms and synonyms (`database`, `creds`, `confidential`).
pub const SENSITIVE_NAME_TOKENS: &[&str] = &[
    "backup",
    "db",
    "dump",
    "export",
    "customer",
    "pii",
    "finance",
    "invoice",
    "payroll",
    "logs",
    "secrets",
    "credentials",
    "private",
    "internal",
    // plural and singular forms
    "backups",
    "dumps",
    "exports",
    "customers",
    "invoices",
    "log",
    "secret",
    "credential",
    // synonyms
    "database",
    "databases",
    "financial",
    "creds",
    "confidential",
];

/// Name tokens that say who the bucket is for, not what it holds: they weigh
/// [`EXPLICIT_NAME_TOKEN_WEIGHT`].
pub const EXPLICIT_NAME_TOKENS: &[&str] = &["public", "private", "internal", "confidential"];

/// The owner's tag; its value is `public-content` or `sensitive-data`.
pub const INTENT_TAG: &str = "bucketward:intent";
/// Tag keys that carry a data classification, compared without case, `-`, `_` or spaces.
pub const CLASSIFICATION_TAG_KEYS: &[&str] = &["dataclassification", "classification"];
/// Classification values meaning public content.
pub const PUBLIC_CLASSIFICATIONS: &[&str] = &["public"];
/// Classification values meaning sensitive data.
pub const SENSITIVE_CLASSIFICATIONS: &[&str] = &[
    "confidential",
    "restricted",
    "internal",
    "pii",
    "sensitive",
    "private",
    "secret",
];
/// The `public` tag, and the values that mean yes.
pub const PUBLIC_TAG: &str = "public";
pub const PUBLIC_TAG_YES: &[&str] = &["true", "yes"];

/// CloudFront's service principal (Origin Access Control).
pub const CLOUDFRONT_SERVICE: &str = "cloudfront.amazonaws.com";
/// The prefix of a CloudFront Origin Access Identity's ARN.
pub const CLOUDFRONT_OAI_PREFIX: &str =
    "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity";

/// Default-encryption algorithms that use a KMS key.
pub const KMS_ALGORITHMS: &[&str] = &["aws:kms", "aws:kms:dsse"];

/// Content types of web content: prefixes (`image/`, ...) and exact types.
pub const WEB_CONTENT_TYPE_PREFIXES: &[&str] = &["image/", "font/", "video/", "audio/"];
pub const WEB_CONTENT_TYPES: &[&str] = &[
    "text/css",
    "text/html",
    "application/javascript",
    "text/javascript",
    "application/x-javascript",
    "application/font-woff",
    "application/font-woff2",
    "application/x-font-ttf",
];
/// Content types of data: tables and database dumps.
pub const DATA_CONTENT_TYPES: &[&str] = &[
    "text/csv",
    "application/csv",
    "application/sql",
    "application/x-sql",
    "application/vnd.apache.parquet",
    "application/x-parquet",
    "application/parquet",
];
/// Content types of archives: data, but also the usual shape of public downloads.
pub const ARCHIVE_CONTENT_TYPES: &[&str] = &[
    "application/zip",
    "application/x-tar",
    "application/x-7z-compressed",
];
/// Content types that say nothing about what is inside: the key's extension is read instead,
/// looking through a compression suffix (`orders.csv.gz` is a table, `sitemap.xml.gz` is not).
pub const OPAQUE_CONTENT_TYPES: &[&str] = &[
    "application/octet-stream",
    "binary/octet-stream",
    "application/gzip",
    "application/x-gzip",
    "application/x-bzip2",
    "application/x-xz",
    "application/zstd",
];
/// File names that exist to be fetched by browsers and crawlers, whatever their content type.
pub const WELL_KNOWN_WEB_FILES: &[&str] = &["robots.txt", "favicon.ico", "humans.txt", "ads.txt"];
/// Sitemaps for search engines: `sitemap*.xml`, compressed or not.
pub const SITEMAP_PREFIX: &str = "sitemap";
/// Paths under this folder are served to the public by convention (RFC 8615).
pub const WELL_KNOWN_FOLDER: &str = ".well-known/";
/// Key extensions of database dumps and backups: data whatever the content type says.
pub const DUMP_EXTENSIONS: &[&str] = &["sql", "dump", "bak"];
/// Key extensions read when the content type is missing or opaque.
pub const WEB_EXTENSIONS: &[&str] = &[
    "html", "htm", "css", "js", "mjs", "png", "jpg", "jpeg", "gif", "webp", "svg", "ico", "woff",
    "woff2", "ttf", "otf", "mp4", "webm", "mp3",
];
pub const DATA_EXTENSIONS: &[&str] = &["csv", "parquet", "sql", "dump", "bak"];
pub const ARCHIVE_EXTENSIONS: &[&str] = &["zip", "tar", "tgz", "7z"];
/// Compression suffixes: the extension before them tells what the object is; alone (`x.gz`)
/// they make an archive.
pub const COMPRESSION_EXTENSIONS: &[&str] = &["gz", "bz2", "xz", "zst"];

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------

/// What a bucket is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Intent {
    /// Content meant to be served to anyone: a website, assets, downloads, open data.
    PublicContent,
    /// Data that must not leak: backups, exports, logs, secrets, personal data.
    SensitiveData,
    /// Nothing in the snapshot says.
    Unknown,
}

/// The kind of evidence behind a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    NameToken,
    Tag,
    Website,
    Cloudfront,
    ContentType,
    KmsEncryption,
}

/// One signal that fired, and the intent it supports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub signal: Signal,
    pub detail: String,
    pub points_to: Intent,
    /// What the signal added to the score of `points_to`.
    pub weight: f64,
}

/// The classifier's answer for one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub intent: Intent,
    /// In `[0, 1]`: how strong and how one-sided the evidence for `intent` is; 0 with none.
    pub confidence: f64,
    pub reasons: Vec<Reason>,
}

// ---------------------------------------------------------------------------------------------
// The classifier.
// ---------------------------------------------------------------------------------------------

/// Classifies a bucket's intent from its name, tags, website, policy, encryption and objects.
#[must_use]
pub fn classify(snapshot: &Snapshot) -> Classification {
    let mut reasons = Vec::new();
    let owner_intent = intent_tag(snapshot, &mut reasons);
    classification_tag(snapshot, &mut reasons);
    public_tag(snapshot, &mut reasons);
    name_tokens(&snapshot.bucket, &mut reasons);
    website(snapshot, &mut reasons);
    cloudfront(snapshot, &mut reasons);
    content_types(&snapshot.objects, &mut reasons);
    kms_encryption(snapshot, &mut reasons);

    let public = score(&reasons, Intent::PublicContent);
    let sensitive = score(&reasons, Intent::SensitiveData);
    let intent = owner_intent.unwrap_or_else(|| decide(public, sensitive));
    let confidence = match intent {
        Intent::PublicContent => confidence(public, sensitive),
        Intent::SensitiveData => confidence(sensitive, public),
        Intent::Unknown => 0.0,
    };
    Classification {
        intent,
        confidence,
        reasons,
    }
}

/// The intent with the larger score; `sensitive-data` on a tie, `unknown` with no evidence.
fn decide(public: f64, sensitive: f64) -> Intent {
    if public <= 0.0 && sensitive <= 0.0 {
        Intent::Unknown
    } else if public - sensitive > TIE_TOLERANCE {
        Intent::PublicContent
    } else {
        Intent::SensitiveData
    }
}

/// Strength times agreement, rounded to two decimals: `winner / (winner + half)` grows with the
/// evidence, `winner / (winner + loser)` falls from 1 to 1/2 as the opposing evidence grows.
fn confidence(winner: f64, loser: f64) -> f64 {
    if winner <= 0.0 {
        return 0.0;
    }
    let strength = winner / (winner + CONFIDENCE_HALF_SCORE);
    let agreement = winner / (winner + loser);
    ((strength * agreement) * 100.0).round() / 100.0
}

fn score(reasons: &[Reason], intent: Intent) -> f64 {
    reasons
        .iter()
        .filter(|r| r.points_to == intent)
        .map(|r| r.weight)
        .sum()
}

fn reason(signal: Signal, points_to: Intent, weight: f64, detail: String) -> Reason {
    Reason {
        signal,
        detail,
        points_to,
        weight,
    }
}

// ---------------------------------------------------------------------------------------------
// Tags.
// ---------------------------------------------------------------------------------------------

/// `bucketward:intent`: returns the owner's intent when the value is one we know.
fn intent_tag(snapshot: &Snapshot, reasons: &mut Vec<Reason>) -> Option<Intent> {
    let value = snapshot.tag(INTENT_TAG)?;
    let intent = match normalize(value).as_str() {
        "public-content" => Intent::PublicContent,
        "sensitive-data" => Intent::SensitiveData,
        _ => return None,
    };
    reasons.push(reason(
        Signal::Tag,
        intent,
        INTENT_TAG_WEIGHT,
        format!("tag `{INTENT_TAG}` is `{value}` (authoritative)"),
    ));
    Some(intent)
}

fn classification_tag(snapshot: &Snapshot, reasons: &mut Vec<Reason>) {
    for tag in &snapshot.tags {
        let key: String = tag
            .key
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        if !CLASSIFICATION_TAG_KEYS.contains(&key.as_str()) {
            continue;
        }
        let value = normalize(&tag.value);
        let points_to = if PUBLIC_CLASSIFICATIONS.contains(&value.as_str()) {
            Intent::PublicContent
        } else if SENSITIVE_CLASSIFICATIONS.contains(&value.as_str()) {
            Intent::SensitiveData
        } else {
            continue;
        };
        reasons.push(reason(
            Signal::Tag,
            points_to,
            CLASSIFICATION_TAG_WEIGHT,
            format!("tag `{}` is `{}`", tag.key, tag.value),
        ));
        return;
    }
}

fn public_tag(snapshot: &Snapshot, reasons: &mut Vec<Reason>) {
    if let Some(value) = snapshot.tag(PUBLIC_TAG) {
        if PUBLIC_TAG_YES.contains(&normalize(value).as_str()) {
            reasons.push(reason(
                Signal::Tag,
                Intent::PublicContent,
                PUBLIC_TAG_WEIGHT,
                format!("tag `{PUBLIC_TAG}` is `{value}`"),
            ));
        }
    }
}

/// Lowercase, trimmed, with `_` and spaces read as `-`.
fn normalize(value: &str) -> String {
    value.trim().to_ascii_lowercase().replace(['_', ' '], "-")
}

// ---------------------------------------------------------------------------------------------
// Name.
// ---------------------------------------------------------------------------------------------

/// The bucket name's words: lowercase, split on `-`, `.`, `_` and digits.
#[must_use]
pub fn tokenize(name: &str) -> Vec<String> {
    name.to_ascii_lowercase()
        .split(|c: char| matches!(c, '-' | '.' | '_') || c.is_ascii_digit())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

fn name_tokens(name: &str, reasons: &mut Vec<Reason>) {
    let mut seen: Vec<String> = Vec::new();
    for token in tokenize(name) {
        if seen.contains(&token) {
            continue;
        }
        let points_to = if PUBLIC_NAME_TOKENS.contains(&token.as_str()) {
            Intent::PublicContent
        } else if SENSITIVE_NAME_TOKENS.contains(&token.as_str()) {
            Intent::SensitiveData
        } else {
            continue;
        };
        let weight = if EXPLICIT_NAME_TOKENS.contains(&token.as_str()) {
            EXPLICIT_NAME_TOKEN_WEIGHT
        } else {
            NAME_TOKEN_WEIGHT
        };
        reasons.push(reason(
            Signal::NameToken,
            points_to,
            weight,
            format!("the bucket name contains `{token}`"),
        ));
        seen.push(token);
    }
}

// ---------------------------------------------------------------------------------------------
// Website and CloudFront.
// ---------------------------------------------------------------------------------------------

fn website(snapshot: &Snapshot, reasons: &mut Vec<Reason>) {
    let Some(config) = snapshot.website.as_ref().filter(|v| !v.is_null()) else {
        return;
    };
    let detail = if let Some(host) = config
        .pointer("/RedirectAllRequestsTo/HostName")
        .and_then(Value::as_str)
    {
        format!("static website hosting redirects all requests to `{host}`")
    } else if let Some(index) = config
        .pointer("/IndexDocument/Suffix")
        .and_then(Value::as_str)
    {
        format!("static website hosting is on (index document `{index}`)")
    } else {
        "static website hosting is configured".to_owned()
    };
    reasons.push(reason(
        Signal::Website,
        Intent::PublicContent,
        WEBSITE_WEIGHT,
        detail,
    ));
}

fn cloudfront(snapshot: &Snapshot, reasons: &mut Vec<Reason>) {
    let Some(policy) = &snapshot.policy else {
        return;
    };
    for (index, statement) in policy
        .document
        .entries()
        .iter()
        .enumerate()
        .filter_map(|(index, entry)| entry.valid().map(|s| (index, s)))
        .filter(|(_, s)| s.effect == Effect::Allow)
    {
        let Some(Principal::Map(principals)) = &statement.principal else {
            continue;
        };
        let reader = principals.iter().find_map(|(kind, values)| {
            values.iter().find_map(|v| {
                let oac = kind.eq_ignore_ascii_case("Service")
                    && v.eq_ignore_ascii_case(CLOUDFRONT_SERVICE);
                let oai = kind.eq_ignore_ascii_case("AWS")
                    && v.to_ascii_lowercase()
                        .starts_with(&CLOUDFRONT_OAI_PREFIX.to_ascii_lowercase());
                match (oac, oai) {
                    (true, _) => Some("Origin Access Control"),
                    (_, true) => Some("an Origin Access Identity"),
                    _ => None,
                }
            })
        });
        if let Some(reader) = reader {
            let sid = statement
                .sid
                .as_deref()
                .map(|s| format!(" (`{s}`)"))
                .unwrap_or_default();
            reasons.push(reason(
                Signal::Cloudfront,
                Intent::PublicContent,
                CLOUDFRONT_WEIGHT,
                format!("policy statement {index}{sid} lets CloudFront read the bucket through {reader}"),
            ));
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Objects.
// ---------------------------------------------------------------------------------------------

/// What one sampled object looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentKind {
    /// Pages, styles, scripts, fonts, media.
    Web,
    /// Tables and database dumps.
    Data,
    /// Archives: counted as data, with [`ARCHIVE_OBJECT_SHARE`] of an object's weight.
    Archive,
    Neutral,
}

fn content_kind(object: &ObjectSnapshot) -> ContentKind {
    let extension = extension(&object.key);
    if DUMP_EXTENSIONS.contains(&extension.as_str()) {
        return ContentKind::Data;
    }
    if is_well_known_web_file(&object.key, &extension) {
        return ContentKind::Web;
    }
    let content_type = object
        .content_type
        .as_deref()
        .and_then(|ct| ct.split(';').next())
        .map(|ct| ct.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if content_type.is_empty() || OPAQUE_CONTENT_TYPES.contains(&content_type.as_str()) {
        extension_kind(&extension)
    } else if WEB_CONTENT_TYPES.contains(&content_type.as_str())
        || WEB_CONTENT_TYPE_PREFIXES
            .iter()
            .any(|p| content_type.starts_with(p))
    {
        ContentKind::Web
    } else if DATA_CONTENT_TYPES.contains(&content_type.as_str()) {
        ContentKind::Data
    } else if ARCHIVE_CONTENT_TYPES.contains(&content_type.as_str()) {
        ContentKind::Archive
    } else {
        ContentKind::Neutral
    }
}

fn is_well_known_web_file(key: &str, extension: &str) -> bool {
    let key = key.to_ascii_lowercase();
    let file = key.rsplit('/').next().unwrap_or(&key);
    WELL_KNOWN_WEB_FILES.contains(&file)
        || (file.starts_with(SITEMAP_PREFIX) && extension == "xml")
        || key.starts_with(WELL_KNOWN_FOLDER)
        || key.contains(&format!("/{WELL_KNOWN_FOLDER}"))
}

fn extension_kind(extension: &str) -> ContentKind {
    if WEB_EXTENSIONS.contains(&extension) {
        ContentKind::Web
    } else if DATA_EXTENSIONS.contains(&extension) {
        ContentKind::Data
    } else if ARCHIVE_EXTENSIONS.contains(&extension) || COMPRESSION_EXTENSIONS.contains(&extension)
    {
        ContentKind::Archive
    } else {
        ContentKind::Neutral
    }
}

/// The key's extension, lowercase, looking through a compression suffix: `db.sql.gz` -> `sql`,
/// `site.tar.gz` -> `tar`, `backup.gz` -> `gz`; empty without a dot.
fn extension(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key).to_ascii_lowercase();
    let mut parts: Vec<&str> = name.split('.').skip(1).collect();
    let Some(last) = parts.pop() else {
        return String::new();
    };
    match parts.pop() {
        Some(inner) if COMPRESSION_EXTENSIONS.contains(&last) => inner.to_owned(),
        _ => last.to_owned(),
    }
}

/// The majority kind of the sampled objects, weighted by its share of the objects that say
/// anything; data wins ties.
fn content_types(objects: &[ObjectSnapshot], reasons: &mut Vec<Reason>) {
    let kinds: Vec<ContentKind> = objects.iter().map(content_kind).collect();
    let count = |kind: ContentKind| kinds.iter().filter(|k| **k == kind).count();
    let (web, data, archives) = (
        count(ContentKind::Web),
        count(ContentKind::Data),
        count(ContentKind::Archive),
    );
    let telling = web + data + archives;
    if telling == 0 {
        return;
    }
    #[allow(clippy::cast_precision_loss)] // sample sizes are small
    let (web_evidence, data_evidence) = (
        web as f64,
        data as f64 + archives as f64 * ARCHIVE_OBJECT_SHARE,
    );
    let (points_to, evidence, what) = if web_evidence > data_evidence {
        (
            Intent::PublicContent,
            web_evidence,
            format!("{web} of {} sampled objects look like web content (pages, styles, scripts, fonts, media)", objects.len()),
        )
    } else {
        (
            Intent::SensitiveData,
            data_evidence,
            format!(
                "{} of {} sampled objects look like data ({data} tables or dumps, {archives} archives)",
                data + archives,
                objects.len()
            ),
        )
    };
    #[allow(clippy::cast_precision_loss)]
    let share = evidence / telling as f64;
    reasons.push(reason(
        Signal::ContentType,
        points_to,
        CONTENT_TYPE_WEIGHT * share,
        what,
    ));
}

// ---------------------------------------------------------------------------------------------
// Encryption.
// ---------------------------------------------------------------------------------------------

/// Reads `{"Rules": [...]}` as bucketward writes it, or the CLI's
/// `{"ServerSideEncryptionConfiguration": {"Rules": [...]}}`.
fn kms_encryption(snapshot: &Snapshot, reasons: &mut Vec<Reason>) {
    let Some(config) = &snapshot.encryption else {
        return;
    };
    let rules = config
        .get("Rules")
        .or_else(|| config.pointer("/ServerSideEncryptionConfiguration/Rules"))
        .and_then(Value::as_array);
    let algorithm = rules.into_iter().flatten().find_map(|rule| {
        rule.pointer("/ApplyServerSideEncryptionByDefault/SSEAlgorithm")
            .and_then(Value::as_str)
            .filter(|a| KMS_ALGORITHMS.iter().any(|k| a.eq_ignore_ascii_case(k)))
    });
    if let Some(algorithm) = algorithm {
        reasons.push(reason(
            Signal::KmsEncryption,
            Intent::SensitiveData,
            KMS_WEIGHT,
            format!("default encryption uses a KMS key (`{algorithm}`)"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(json: &str) -> Snapshot {
        Snapshot::from_json(json).unwrap()
    }

    fn classify_json(json: &str) -> Classification {
        classify(&snapshot(json))
    }

    #[test]
    fn tokenize_splits_on_separators_and_digits() {
        assert_eq!(tokenize("corp-db-backups-2023"), ["corp", "db", "backups"]);
        assert_eq!(tokenize("www.example.com"), ["www", "example", "com"]);
        assert_eq!(tokenize("acme_static2assets"), ["acme", "static", "assets"]);
        assert_eq!(tokenize("Logs--9"), ["logs"]);
        assert!(tokenize("2023-01").is_empty());
    }

    #[test]
    fn name_tokens_count_once_each() {
        let c = classify_json(r#"{"Bucket": "backup-backup-db"}"#);
        assert_eq!(c.intent, Intent::SensitiveData);
        assert_eq!(c.reasons.len(), 2);
        assert!(c.reasons.iter().all(|r| r.signal == Signal::NameToken));
    }

    #[test]
    fn a_tie_goes_to_sensitive_data_with_lowered_confidence() {
        let tie = classify_json(r#"{"Bucket": "acme-cdn-logs"}"#);
        assert_eq!(tie.intent, Intent::SensitiveData);
        let alone = classify_json(r#"{"Bucket": "acme-logs"}"#);
        assert_eq!(alone.intent, Intent::SensitiveData);
        assert!(tie.confidence < alone.confidence, "{tie:?} vs {alone:?}");
        assert!(tie.confidence <= 0.5);
    }

    #[test]
    fn explicit_audience_tokens_outweigh_content_tokens() {
        let c = classify_json(r#"{"Bucket": "internal-docs"}"#);
        assert_eq!(c.intent, Intent::SensitiveData);
        let weights: Vec<f64> = c.reasons.iter().map(|r| r.weight).collect();
        assert_eq!(weights, [EXPLICIT_NAME_TOKEN_WEIGHT, NAME_TOKEN_WEIGHT]);
        let p = classify_json(r#"{"Bucket": "public-exports"}"#);
        assert_eq!(p.intent, Intent::PublicContent);
    }

    #[test]
    fn decide_breaks_ties_towards_sensitive() {
        assert_eq!(decide(2.0, 2.0), Intent::SensitiveData);
        assert_eq!(decide(2.5, 2.0), Intent::PublicContent);
        assert_eq!(decide(0.0, 0.0), Intent::Unknown);
        assert_eq!(decide(1.5 * (2.0 / 3.0), 1.0), Intent::SensitiveData);
    }

    #[test]
    fn no_signal_is_unknown_with_no_confidence() {
        let c = classify_json(
            r#"{"Bucket": "acme-prod-7f3a2c", "Objects": [{"Key": "a.json", "ContentType": "application/json"}]}"#,
        );
        assert_eq!(c.intent, Intent::Unknown);
        assert!(c.confidence.abs() < f64::EPSILON);
        assert!(c.reasons.is_empty());
    }

    #[test]
    fn the_intent_tag_overrides_every_other_signal() {
        let c = classify_json(
            r#"{"Bucket": "www-static-assets-cdn",
                "Website": {"IndexDocument": {"Suffix": "index.html"}},
                "Tags": [{"Key": "bucketward:intent", "Value": "sensitive-data"}]}"#,
        );
        assert_eq!(c.intent, Intent::SensitiveData);
        assert!(c.confidence < 0.9 && c.confidence > 0.5, "{c:?}");
        let unknown_value = classify_json(
            r#"{"Bucket": "backups", "Tags": {"TagSet": [{"Key": "bucketward:intent", "Value": "maybe"}]}}"#,
        );
        assert_eq!(unknown_value.intent, Intent::SensitiveData);
        assert!(unknown_value
            .reasons
            .iter()
            .all(|r| r.signal == Signal::NameToken));
    }

    #[test]
    fn classification_tags_read_several_spellings() {
        for key in [
            "data-classification",
            "DataClassification",
            "data_classification",
        ] {
            let c = classify_json(&format!(
                r#"{{"Bucket": "x", "Tags": [{{"Key": "{key}", "Value": "Restricted"}}]}}"#
            ));
            assert_eq!(c.intent, Intent::SensitiveData, "{key}");
        }
        let public = classify_json(
            r#"{"Bucket": "x", "Tags": [{"Key": "data-classification", "Value": "public"}, {"Key": "public", "Value": "Yes"}]}"#,
        );
        assert_eq!(public.intent, Intent::PublicContent);
        assert_eq!(public.reasons.len(), 2);
    }

    #[test]
    fn cloudfront_oac_and_oai_point_to_public_content() {
        let oac = classify_json(
            r#"{"Bucket": "x", "Policy": {"Statement": [{"Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::x/*"}]}}"#,
        );
        assert_eq!(oac.intent, Intent::PublicContent);
        assert_eq!(oac.reasons[0].signal, Signal::Cloudfront);
        let after_invalid = classify_json(
            r#"{"Bucket": "x", "Policy": {"Statement": [{"Effect": "Maybe"}, {"Effect": "Allow",
                "Principal": {"Service": ["logging.s3.amazonaws.com", "cloudfront.amazonaws.com"]},
                "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}]}}"#,
        );
        assert!(
            after_invalid.reasons[0]
                .detail
                .starts_with("policy statement 1 "),
            "{after_invalid:?}"
        );
        let oai = classify_json(
            r#"{"Bucket": "x", "Policy": "{\"Statement\": [{\"Sid\": \"1\", \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL\"}, \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::x/*\"}]}"}"#,
        );
        assert_eq!(oai.intent, Intent::PublicContent);
        let deny = classify_json(
            r#"{"Bucket": "x", "Policy": {"Statement": [{"Effect": "Deny",
                "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:*", "Resource": "*"}]}}"#,
        );
        assert_eq!(deny.intent, Intent::Unknown);
    }

    #[test]
    fn kms_encryption_is_read_in_both_shapes() {
        let bare = classify_json(
            r#"{"Bucket": "x", "Encryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:dsse"}}]}}"#,
        );
        assert_eq!(bare.intent, Intent::SensitiveData);
        let wrapped = classify_json(
            r#"{"Bucket": "x", "Encryption": {"ServerSideEncryptionConfiguration": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}}"#,
        );
        assert_eq!(wrapped.intent, Intent::SensitiveData);
        let sse_s3 = classify_json(
            r#"{"Bucket": "x", "Encryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}}"#,
        );
        assert_eq!(sse_s3.intent, Intent::Unknown);
    }

    #[test]
    fn object_kinds_come_from_content_type_then_extension() {
        let object = |key: &str, ct: Option<&str>| ObjectSnapshot {
            key: key.to_owned(),
            content_type: ct.map(str::to_owned),
            acl: None,
        };
        assert_eq!(
            content_kind(&object("a.png", Some("image/png"))),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object("a", Some("text/html; charset=utf-8"))),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object("db.sql.gz", Some("application/gzip"))),
            ContentKind::Data
        );
        assert_eq!(
            content_kind(&object("db.dump", Some("application/octet-stream"))),
            ContentKind::Data
        );
        assert_eq!(
            content_kind(&object("x.bak", Some("text/plain"))),
            ContentKind::Data
        );
        assert_eq!(content_kind(&object("t.parquet", None)), ContentKind::Data);
        assert_eq!(
            content_kind(&object("app.js", Some("binary/octet-stream"))),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object("orders.csv.gz", Some("application/gzip"))),
            ContentKind::Data
        );
        assert_eq!(
            content_kind(&object("feed.xml.gz", Some("application/gzip"))),
            ContentKind::Neutral
        );
        assert_eq!(content_kind(&object("app.js.gz", None)), ContentKind::Web);
        assert_eq!(
            content_kind(&object("site.tar.gz", Some("application/gzip"))),
            ContentKind::Archive
        );
        assert_eq!(
            content_kind(&object("backup.gz", None)),
            ContentKind::Archive
        );
        assert_eq!(
            content_kind(&object("r.zip", Some("application/zip"))),
            ContentKind::Archive
        );
        assert_eq!(
            content_kind(&object("notes.txt", Some("text/plain"))),
            ContentKind::Neutral
        );
        assert_eq!(
            content_kind(&object("robots.txt", Some("text/plain"))),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object("seo/sitemap-2.xml.gz", Some("application/gzip"))),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object(".well-known/security.txt", None)),
            ContentKind::Web
        );
        assert_eq!(
            content_kind(&object("feeds/export.xml", Some("application/xml"))),
            ContentKind::Neutral
        );
        assert_eq!(content_kind(&object("README", None)), ContentKind::Neutral);
    }

    #[test]
    fn content_majority_sets_the_direction_and_share_the_weight() {
        let c = classify_json(
            r#"{"Bucket": "x", "Objects": [
                {"Key": "a.png", "ContentType": "image/png"},
                {"Key": "b.png", "ContentType": "image/png"},
                {"Key": "c.png", "ContentType": "image/png"},
                {"Key": "d.csv", "ContentType": "text/csv"}]}"#,
        );
        assert_eq!(c.intent, Intent::PublicContent);
        assert!((c.reasons[0].weight - CONTENT_TYPE_WEIGHT * 0.75).abs() < 1e-9);
        let even = classify_json(
            r#"{"Bucket": "x", "Objects": [
                {"Key": "a.png", "ContentType": "image/png"},
                {"Key": "d.csv", "ContentType": "text/csv"}]}"#,
        );
        assert_eq!(even.intent, Intent::SensitiveData);
        let archives = classify_json(
            r#"{"Bucket": "x", "Objects": [
                {"Key": "a.zip", "ContentType": "application/zip"},
                {"Key": "notes.txt", "ContentType": "text/plain"}]}"#,
        );
        assert_eq!(archives.intent, Intent::SensitiveData);
        assert!(
            (archives.reasons[0].weight - CONTENT_TYPE_WEIGHT * ARCHIVE_OBJECT_SHARE).abs() < 1e-9
        );
    }

    #[test]
    fn extension_looks_through_compression() {
        assert_eq!(extension("a/b/db.sql.gz"), "sql");
        assert_eq!(extension("site.tar.gz"), "tar");
        assert_eq!(extension("backup.GZ"), "gz");
        assert_eq!(extension("dir.v2/README"), "");
        assert_eq!(extension("env:/prod/terraform.tfstate"), "tfstate");
    }

    #[test]
    fn conflicting_signals_lower_the_confidence() {
        let clean = classify_json(r#"{"Bucket": "acme-static-assets", "Website": {}}"#);
        let conflicted = classify_json(
            r#"{"Bucket": "acme-static-assets", "Website": {},
                "Encryption": {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]}}"#,
        );
        assert_eq!(clean.intent, Intent::PublicContent);
        assert_eq!(conflicted.intent, Intent::PublicContent);
        assert!(conflicted.confidence < clean.confidence);
        assert!((0.0..=1.0).contains(&clean.confidence));
    }

    #[test]
    fn serializes_with_the_documented_names() {
        let c = classify_json(r#"{"Bucket": "acme-db-backups"}"#);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["intent"], "sensitive-data");
        assert_eq!(json["reasons"][0]["signal"], "name_token");
        assert_eq!(json["reasons"][0]["points_to"], "sensitive-data");
        assert_eq!(
            serde_json::to_value(Intent::PublicContent).unwrap(),
            "public-content"
        );
        assert_eq!(serde_json::to_value(Intent::Unknown).unwrap(), "unknown");
        assert_eq!(
            serde_json::to_value(Signal::KmsEncryption).unwrap(),
            "kms_encryption"
        );
        let back: Classification = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }
}
