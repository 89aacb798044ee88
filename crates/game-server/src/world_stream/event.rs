//! The `text/event-stream` framing (HTML Living Standard, Server-sent events).

use hyper::body::Bytes;

/// `Content-Type` of an event stream.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// How long a browser waits before reconnecting after a stream ends, in ms.
pub const RETRY_MS: u32 = 1_000;

/// An event `name` with `id` and one line of JSON `data` (JSON has no raw newlines).
pub fn event(id: u64, name: &str, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + name.len() + 40);
    out.extend_from_slice(format!("id: {id}\nevent: {name}\ndata: ").as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The stream's opening: the reconnection delay.
pub fn retry() -> Bytes {
    Bytes::from(format!("retry: {RETRY_MS}\n\n"))
}

/// A comment line, ignored by clients, that keeps an idle connection alive.
pub fn heartbeat() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// The version a client resumes from: `Last-Event-ID` as a whole number, if it is one.
pub fn last_event_id(value: Option<&str>) -> Option<u64> {
    value?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_an_event_with_id_name_and_data() {
        assert_eq!(
            &event(42, "delta", br#"{"a":1}"#)[..],
            b"id: 42\nevent: delta\ndata: {\"a\":1}\n\n"
        );
        assert_eq!(&retry()[..], b"retry: 1000\n\n");
        assert_eq!(&heartbeat()[..], b": keep-alive\n\n");
    }

    #[test]
    fn last_event_id_must_be_a_whole_number() {
        assert_eq!(last_event_id(Some(" 17 ")), Some(17));
        assert_eq!(last_event_id(Some("-1")), None);
        assert_eq!(last_event_id(Some("abc")), None);
        assert_eq!(last_event_id(None), None);
    }
}
