//! YAML documents as a small tree that remembers lines, read with `saphyr-parser`.
//!
//! The parser hands over events; this module builds the nodes with an explicit stack (no
//! recursion, so nesting depth cannot overflow the thread's stack) and expands aliases
//! within a budget of nodes, so a "billion laughs" document is refused rather than
//! exhausting memory. Scalars keep their text and whether they were written plain, so a
//! quoted `"5"` is told apart from the number 5, as Kubernetes does.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

/// The most nodes one file may hold, aliases expanded.
pub const MAX_NODES: usize = 4_000_000;

/// One node and the line (1-based) where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub value: Value,
    /// Its line in the file.
    pub line: usize,
}

/// A node's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing, written plain.
    Null,
    /// Any other scalar.
    Scalar {
        /// The text, as the parser resolved escapes and folding.
        text: String,
        /// Written without quotes or block markers (so it may be a number or a boolean).
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in the file's order. Keys are scalars.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key`, if this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a scalar (quoted or not).
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether the node is `null` (or absent from its mapping, for the caller).
    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// A short name of the node's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { plain: true, .. } => "a plain scalar",
            Value::Scalar { .. } => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// One document of a file.
#[derive(Debug)]
pub struct Document {
    /// Its position in the file, from 1.
    pub index: usize,
    /// Its root (`Null` for an empty document).
    pub root: Node,
}

/// Why a file is not YAML.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("document {document}, line {line}, column {column}: {problem}")]
pub struct YamlError {
    /// The document the problem is in, from 1.
    pub document: usize,
    /// Its line, from 1.
    pub line: usize,
    /// Its column, from 1.
    pub column: usize,
    /// What is wrong.
    pub problem: String,
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(String, Node)>, Option<String>, usize, usize),
}

/// Every document of `text`.
pub fn documents(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut document = 0usize;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| YamlError {
            document: document.max(1),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            problem: e.info().to_owned(),
        })?;
        let line = span.start.line();
        let column = span.start.col() + 1;
        let fail = |document: usize, problem: String| YamlError {
            document,
            line,
            column,
            problem,
        };
        let finished: Option<(Node, usize)> = match event {
            Event::DocumentStart(_) => {
                document += 1;
                anchors.clear();
                root = None;
                None
            }
            Event::DocumentEnd => {
                docs.push(Document {
                    index: document,
                    root: root.take().unwrap_or(Node {
                        value: Value::Null,
                        line,
                    }),
                });
                None
            }
            Event::Scalar(text, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                let value = if plain && matches!(&*text, "" | "~" | "null" | "Null" | "NULL") {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain,
                    }
                };
                Some((Node { value, line }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor, line));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Vec::new(), None, anchor, line));
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor, l)) => Some((
                    Node {
                        value: Value::Seq(items),
                        line: l,
                    },
                    anchor,
                )),
                Some(Frame::Map(entries, _, anchor, l)) => Some((
                    Node {
                        value: Value::Map(entries),
                        line: l,
                    },
                    anchor,
                )),
                None => return Err(fail(document, "unbalanced collection".into())),
            },
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| fail(document, "an alias to an unknown anchor".into()))?;
                nodes = nodes.saturating_add(count(&node));
                if nodes > MAX_NODES {
                    return Err(fail(
                        document,
                        format!("more than {MAX_NODES} nodes once aliases are expanded"),
                    ));
                }
                Some((node, 0))
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => None,
        };
        let Some((node, anchor)) = finished else {
            continue;
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(fail(document, format!("more than {MAX_NODES} nodes")));
        }
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, key, ..)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => match node.value {
                    Value::Scalar { text, .. } => *key = Some(text),
                    Value::Null => *key = Some(String::new()),
                    _ => return Err(fail(document, "a mapping key that is not a scalar".into())),
                },
            },
        }
    }
    Ok(docs)
}

/// The nodes in `node`, itself included.
fn count(node: &Node) -> usize {
    let mut n = 0;
    let mut todo = vec![node];
    while let Some(x) = todo.pop() {
        n += 1;
        match &x.value {
            Value::Seq(items) => todo.extend(items),
            Value::Map(entries) => todo.extend(entries.iter().map(|(_, v)| v)),
            _ => {}
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(n: &Node) -> (&str, bool) {
        match &n.value {
            Value::Scalar { text, plain } => (text.as_str(), *plain),
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn documents_mappings_sequences_and_lines() {
        let docs = documents("a: 1\nb: \"2\"\n---\n- x\n- ~\n---\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(scalar(docs[0].root.get("a").unwrap()), ("1", true));
        assert_eq!(scalar(docs[0].root.get("b").unwrap()), ("2", false));
        assert_eq!(docs[0].root.get("b").unwrap().line, 2);
        let Value::Seq(items) = &docs[1].root.value else {
            panic!()
        };
        assert!(items[1].is_null());
        assert_eq!(items[0].line, 4);
        assert!(docs[2].root.is_null());
        assert_eq!(docs[2].index, 3);
    }

    #[test]
    fn aliases_expand_and_bombs_are_refused() {
        let docs = documents("base: &b {x: 1}\ncopy: *b\n").unwrap();
        assert_eq!(docs[0].root.get("copy"), docs[0].root.get("base"));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = documents(&bomb).unwrap_err();
        assert!(e.problem.contains("aliases are expanded"), "{e}");
    }

    #[test]
    fn syntax_errors_name_document_line_and_column() {
        let e = documents("a: 1\n---\nb: [\n").unwrap_err();
        assert_eq!(e.document, 2);
        assert!(e.line >= 3, "{e}");
        let deep = "[".repeat(100_000);
        assert!(documents(&deep).is_err());
    }
}
