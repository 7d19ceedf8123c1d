//! HTTP/1.1 proxies in front of the emulator, for what moto cannot do by itself: serialising
//! requests, or answering some requests with a fault (throttling, AccessDenied).

use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One HTTP/1.1 message (request or response) from a stream: the head up to the blank line and
/// a body of `Content-Length` bytes. `None` when the peer closed the connection.
pub async fn read_message<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut message = Vec::new();
    let mut length = 0;
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await.ok()? == 0 {
            return None;
        }
        message.extend_from_slice(&line);
        if line == b"\r\n" {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        if let Some((name, value)) = text.split_once(':') {
            assert!(
                !name.trim().eq_ignore_ascii_case("transfer-encoding"),
                "the proxy only handles Content-Length bodies"
            );
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().expect("content-length");
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    message.extend(body);
    Some(message)
}

/// Decides, from a request's first line, whether to answer it with a fault instead of
/// forwarding it.
pub type Fault = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A proxy to `upstream`. With `serialise`, one request at a time reaches the emulator. `fault`
/// may answer a request itself (a full HTTP response).
pub async fn proxy(upstream: &str, serialise: bool, fault: Arc<Fault>) -> String {
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (upstream, turn, fault) = (upstream.clone(), turn.clone(), fault.clone());
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                while let Some(request) = read_message(&mut client).await {
                    let first_line = String::from_utf8_lossy(&request)
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let response = match fault(&first_line) {
                        Some(response) => response.into_bytes(),
                        None => {
                            let _turn = if serialise {
                                Some(turn.lock().await)
                            } else {
                                None
                            };
                            let mut server = TcpStream::connect(&upstream).await.expect("emulator");
                            server.write_all(&request).await.expect("forward request");
                            read_message(&mut BufReader::new(server))
                                .await
                                .expect("response")
                        }
                    };
                    if client.get_mut().write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{address}")
}

/// An S3 error response.
pub fn s3_error(status: &str, code: &str, message: &str) -> String {
    let body = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message><RequestId>proxy</RequestId></Error>");
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}
