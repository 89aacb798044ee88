//! The contract check: every response the API tests receive must be one the OpenAPI
//! document (`game_server::contract::OPENAPI`) describes, for its path, method and status,
//! with its required headers, a documented content type and, for JSON, a body valid
//! against the response's schema. [`crate::client::Connection::send`] calls [`check`] on
//! every reply, so a response that leaves the document fails whichever test received it.
//!
//! A path the document does not list is checked against `x-unknown-path-responses`, a
//! listed path asked with another method against `x-other-method-responses`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use hyper::{HeaderMap, Method};
use jsonschema::Validator;
use serde_json::Value;

use crate::client::Reply;

/// The document the server serves, parsed once for the whole test binary.
static SERVED: LazyLock<Contract> =
    LazyLock::new(|| Contract::parse(game_server::contract::OPENAPI));

/// Checks `reply` to `method uri` against the served document.
pub fn check(method: &Method, uri: &str, reply: &Reply) -> Result<(), String> {
    SERVED.check(method, uri, reply.status, &reply.headers, &reply.body)
}

/// An OpenAPI document and the schema validators compiled from it so far.
pub struct Contract {
    document: Value,
    /// By JSON pointer of the schema; each is compiled the first time it is needed.
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Contract {
    /// Parses a document (panics if it is not JSON).
    pub fn parse(text: &str) -> Contract {
        Contract {
            document: serde_json::from_str(text).expect("the OpenAPI document is JSON"),
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// The parsed document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// Checks one response; `Err` says how it leaves the document.
    pub fn check(
        &self,
        method: &Method,
        uri: &str,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(), String> {
        let path = uri.split('?').next().unwrap_or_default();
        let responses = match self.path_item(path) {
            Some(item_pointer) => {
                let operation = format!("{item_pointer}/{}", method.as_str().to_lowercase());
                if self.at(&operation).is_some() {
                    format!("{operation}/responses")
                } else {
                    "/x-other-method-responses".to_owned()
                }
            }
            None => "/x-unknown-path-responses".to_owned(),
        };
        let pointer = self
            .resolve(&format!("{responses}/{status}"))
            .ok_or_else(|| format!("status {status} is not documented at {responses}"))?;
        let response = self.at(&pointer).unwrap_or(&Value::Null);
        for (name, header) in response["headers"].as_object().into_iter().flatten() {
            if header["required"] == Value::Bool(true) && !headers.contains_key(name.as_str()) {
                return Err(format!("required header {name} is missing ({pointer})"));
            }
        }
        let media = headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(|value| value.split(';').next().unwrap_or_default().trim());
        let Some(content) = response["content"].as_object() else {
            return match (media, body.is_empty()) {
                (None, true) => Ok(()),
                _ => Err(format!("{pointer} has no content, got {media:?}")),
            };
        };
        let media = media.ok_or_else(|| format!("no Content-Type ({pointer})"))?;
        if !content.contains_key(media) {
            return Err(format!(
                "content type {media} is not documented at {pointer}"
            ));
        }
        if media != "application/json" {
            return Ok(());
        }
        let instance: Value = serde_json::from_slice(body)
            .map_err(|error| format!("the body is not JSON ({error}) at {pointer}"))?;
        let schema = format!("{pointer}/content/application~1json/schema");
        let validator = self.validator(&schema)?;
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|error| {
                format!(
                    "{} at {}",
                    shorten(&error.to_string()),
                    error.instance_path()
                )
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            let body = shorten(&instance.to_string());
            Err(format!("{schema}: {}; body {body}", errors.join("; ")))
        }
    }

    /// The pointer of the path item serving `path`: its own entry, or a template whose
    /// parameters accept the segments (`/js/{module}` with `module`'s schema).
    fn path_item(&self, path: &str) -> Option<String> {
        let paths = self.document["paths"].as_object()?;
        if paths.contains_key(path) {
            return Some(format!("/paths/{}", escape(path)));
        }
        let segments: Vec<&str> = path.split('/').collect();
        paths.iter().find_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(part, segment)| {
                    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) => self.parameter_accepts(item, name, segment),
                        None => part == segment,
                    }
                });
            fits.then(|| format!("/paths/{}", escape(template)))
        })
    }

    /// True if some operation's path parameter `name` accepts `segment`.
    fn parameter_accepts(&self, item: &Value, name: &str, segment: &str) -> bool {
        let operations = item.as_object().into_iter().flat_map(|item| item.values());
        operations
            .flat_map(|operation| operation["parameters"].as_array().into_iter().flatten())
            .filter(|parameter| parameter["in"] == "path" && parameter["name"] == name)
            .any(|parameter| {
                jsonschema::draft202012::is_valid(&parameter["schema"], &Value::from(segment))
            })
    }

    /// The value at `pointer`.
    fn at(&self, pointer: &str) -> Option<&Value> {
        self.document.pointer(pointer)
    }

    /// `pointer` after following a `$ref` there (to a local component), if it exists.
    fn resolve(&self, pointer: &str) -> Option<String> {
        let value = self.at(pointer)?;
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => {
                let target = target.strip_prefix('#')?.to_owned();
                self.at(&target).map(|_| target)
            }
            None => Some(pointer.to_owned()),
        }
    }

    /// The validator of the schema at `pointer`: the whole document with a root `$ref` to
    /// it, so the schema's own `$ref`s to components resolve in the document.
    fn validator(&self, pointer: &str) -> Result<Arc<Validator>, String> {
        let mut validators = self
            .validators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(validator) = validators.get(pointer) {
            return Ok(validator.clone());
        }
        let mut root = self.document.clone();
        root["$ref"] = Value::from(format!("#{pointer}"));
        let validator = jsonschema::draft202012::options()
            .build(&root)
            .map_err(|error| format!("the schema at {pointer} does not compile: {error}"))?;
        let validator = Arc::new(validator);
        validators.insert(pointer.to_owned(), validator.clone());
        Ok(validator)
    }
}

/// A JSON pointer token for `key` (`~` → `~0`, `/` → `~1`).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// `text`, cut to 400 characters (a world body is long; the error says where to look).
fn shorten(text: &str) -> String {
    match text.char_indices().nth(400) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}
