//! The Lambda Function URL payload (version 2.0), read leniently as JSON, and the response
//! object with an HTML page.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Longest approver name or reason kept.
const MAX_TEXT: usize = 500;

/// What the approver reads from a request.
#[derive(Debug, Default)]
pub struct Request {
    /// Upper case; `GET` when the payload does not say.
    pub method: String,
    /// Query parameters first, then form or JSON body fields.
    params: Vec<(String, String)>,
    /// Names in lower case.
    headers: Vec<(String, String)>,
    /// The caller's ARN when the Function URL uses IAM auth.
    iam_arn: Option<String>,
}

impl Request {
    pub fn from_payload(payload: &Value) -> Self {
        let http = &payload["requestContext"]["http"];
        let method = http["method"]
            .as_str()
            .unwrap_or("GET")
            .to_ascii_uppercase();
        let headers: Vec<(String, String)> = payload["headers"]
            .as_object()
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        let mut params = match payload["queryStringParameters"].as_object() {
            Some(q) => string_fields(q),
            None => form_pairs(payload["rawQueryString"].as_str().unwrap_or_default()),
        };
        if let Some(body) = payload["body"].as_str() {
            let body = if payload["isBase64Encoded"].as_bool().unwrap_or(false) {
                STANDARD
                    .decode(body.trim())
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default()
            } else {
                body.to_owned()
            };
            let json_body = headers
                .iter()
                .any(|(k, v)| k == "content-type" && v.contains("json"))
                || body.trim_start().starts_with('{');
            if json_body {
                if let Ok(Value::Object(fields)) = serde_json::from_str(&body) {
                    params.extend(string_fields(&fields));
                }
            } else {
                params.extend(form_pairs(&body));
            }
        }
        let iam_arn = payload["requestContext"]["authorizer"]["iam"]["userArn"]
            .as_str()
            .filter(|a| !a.is_empty())
            .map(str::to_owned);
        Self {
            method,
            params,
            headers,
            iam_arn,
        }
    }

    /// The first non-empty value of a parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// A free-text parameter, cleaned and bounded.
    pub fn text_param(&self, name: &str) -> Option<String> {
        self.param(name).map(clean).filter(|t| !t.is_empty())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Who is deciding: the IAM caller when the Function URL authenticates (it cannot be
    /// claimed), else the `x-bucketward-approver` header (self-declared), else `url-token` (the
    /// link was all we had).
    pub fn approver(&self) -> String {
        if let Some(arn) = &self.iam_arn {
            return clean(arn);
        }
        self.header("x-bucketward-approver")
            .map(clean)
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "url-token".to_owned())
    }
}

fn string_fields(fields: &Map<String, Value>) -> Vec<(String, String)> {
    fields
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
        .collect()
}

/// `a=1&b=x+y%21` into pairs, decoded.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Percent-decoding with `+` as a space; invalid escapes stay as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One line of at most [`MAX_TEXT`] characters, without control characters.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_TEXT)
        .collect::<String>()
        .trim()
        .to_owned()
}

pub use bucketward::html::escape;

/// A Function URL response with a small HTML page; `body_html` must be escaped already.
/// Pages are never cached, and the link (with its token) is never sent on as a referrer.
pub fn page(status: u16, title: &str, body_html: &str) -> Value {
    let title = escape(title);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>bucketward: {title}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 46em; margin: 2em auto; padding: 0 1em\">\
         <h1>{title}</h1>\n{body_html}\n</body></html>\n"
    );
    json!({
        "statusCode": status,
        "headers": {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "referrer-policy": "no-referrer",
            "x-content-type-options": "nosniff",
            "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        },
        "body": html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_raw_query_string_and_a_form_body() {
        let get = Request::from_payload(&json!({
            "version": "2.0",
            "rawQueryString": "token=abc.def&decision=reject&reason=meant+to+be%20public%21&empty=",
            "requestContext": {"http": {"method": "get"}},
            "headers": {"X-Bucketward-Approver": " alice\n"},
        }));
        assert_eq!(get.method, "GET");
        assert_eq!(get.param("token"), Some("abc.def"));
        assert_eq!(get.param("reason"), Some("meant to be public!"));
        assert_eq!(get.param("empty"), None);
        assert_eq!(get.approver(), "alice");

        let post = Request::from_payload(&json!({
            "rawQueryString": "",
            "requestContext": {"http": {"method": "POST"}, "authorizer": {"iam": {"userArn": "arn:aws:iam::123456789012:user/bob"}}},
            "headers": {"content-type": "application/x-www-form-urlencoded", "x-bucketward-approver": "mallory"},
            "body": STANDARD.encode("token=t%2B1&decision=approve"),
            "isBase64Encoded": true,
        }));
        assert_eq!(post.param("token"), Some("t+1"));
        assert_eq!(post.param("decision"), Some("approve"));
        assert_eq!(
            post.approver(),
            "arn:aws:iam::123456789012:user/bob",
            "IAM wins over the header"
        );
    }

    #[test]
    fn prefers_decoded_query_parameters_and_reads_json_bodies() {
        let r = Request::from_payload(&json!({
            "rawQueryString": "token=raw",
            "queryStringParameters": {"token": "decoded"},
            "body": "{\"reason\": \"json reason\", \"n\": 1}",
        }));
        assert_eq!(r.method, "GET");
        assert_eq!(r.param("token"), Some("decoded"));
        assert_eq!(r.text_param("reason").as_deref(), Some("json reason"));
        assert_eq!(r.approver(), "url-token");
        assert!(Request::from_payload(&json!(null)).param("token").is_none());
    }

    #[test]
    fn pages_escape_and_never_cache() {
        assert_eq!(
            escape("<b a=\"x\">&'"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
        let p = page(403, "No <way>", "<p>x</p>");
        assert_eq!(p["statusCode"], 403);
        assert_eq!(p["headers"]["cache-control"], "no-store");
        let body = p["body"].as_str().unwrap();
        assert!(body.contains("<h1>No &lt;way&gt;</h1>") && body.contains("<p>x</p>"));
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
