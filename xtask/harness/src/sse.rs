//! An incremental `text/event-stream` parser (HTML Living Standard, Server-sent events):
//! feed it the body's chunks as they arrive, split anywhere, and take the complete events.
//!
//! Lines end with `\n` or `\r\n` (what the game server and common servers send; a lone
//! `\r` as a line end is not supported). Comments (`:`) and `retry:` are skipped; an event
//! is dispatched on a blank line when it has data, as a browser's `EventSource` does.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `id:` of this event, if it had one.
    pub id: Option<String>,
    /// The `event:` name (`message` when absent).
    pub name: String,
    /// The `data:` lines joined with `\n`.
    pub data: Vec<u8>,
}

/// Parser state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the line being received (no newline seen yet).
    pending: Vec<u8>,
    id: Option<String>,
    name: Option<String>,
    data: Vec<u8>,
    has_data: bool,
}

impl SseParser {
    /// Feeds one chunk; returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut rest = chunk;
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (head, tail) = rest.split_at(newline);
            rest = &tail[1..];
            if self.pending.is_empty() {
                self.line(head, &mut events);
            } else {
                let mut line = std::mem::take(&mut self.pending);
                line.extend_from_slice(head);
                self.line(&line, &mut events);
            }
        }
        self.pending.extend_from_slice(rest);
        events
    }

    fn line(&mut self, line: &[u8], events: &mut Vec<SseEvent>) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            self.dispatch(events);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.name = Some(String::from_utf8_lossy(value).into_owned()),
            // The standard ignores ids containing NUL.
            b"id" if !value.contains(&0) => {
                self.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let name = self.name.take();
        if !self.has_data {
            // No data: nothing is dispatched (the id, per the standard, still sticks).
            return;
        }
        self.has_data = false;
        events.push(SseEvent {
            id: self.id.clone(),
            name: name.unwrap_or_else(|| "message".to_owned()),
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"retry: 1000\n\nid: 7\nevent: snapshot\ndata: {\"a\":1}\n\n\
        : keep-alive\n\nid: 9\nevent: delta\ndata: {\"b\":2}\n\n";

    fn names(events: &[SseEvent]) -> Vec<(Option<&str>, &str, &[u8])> {
        events
            .iter()
            .map(|e| (e.id.as_deref(), e.name.as_str(), e.data.as_slice()))
            .collect()
    }

    #[test]
    fn parses_the_game_servers_stream_in_one_chunk() {
        let mut parser = SseParser::default();
        let events = parser.feed(STREAM);
        assert_eq!(
            names(&events),
            [
                (Some("7"), "snapshot", &b"{\"a\":1}"[..]),
                (Some("9"), "delta", &b"{\"b\":2}"[..]),
            ]
        );
        assert!(parser.pending.is_empty() && parser.data.is_empty());
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let whole = SseParser::default().feed(STREAM);
        for split in 0..=STREAM.len() {
            let mut parser = SseParser::default();
            let mut events = parser.feed(&STREAM[..split]);
            events.extend(parser.feed(&STREAM[split..]));
            assert_eq!(events, whole, "split at {split}");
        }
        // One byte at a time.
        let mut parser = SseParser::default();
        let events: Vec<_> = STREAM.iter().flat_map(|b| parser.feed(&[*b])).collect();
        assert_eq!(events, whole);
    }

    #[test]
    fn crlf_multi_line_data_defaults_and_empty_events() {
        let mut parser = SseParser::default();
        let events = parser.feed(b"data: one\r\ndata:two\r\n\r\nevent: nothing\n\nid\ndata\n\nda");
        assert_eq!(
            names(&events),
            [
                (None, "message", &b"one\ntwo"[..]),
                (Some(""), "message", &b""[..])
            ]
        );
        // An unfinished line waits for the rest.
        assert_eq!(parser.feed(b"ta: x\n"), []);
        assert_eq!(parser.feed(b"\n")[0].data, b"x");
    }
}
