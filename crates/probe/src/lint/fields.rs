//! Reading typed fields of YAML nodes, each error naming the field's path and line as the
//! API server would refuse it.

use super::manifest::{InputError, PortRef};
use super::yaml::{Node, Value};

/// Reads the fields of one document.
pub(super) struct Reader {
    /// The document, from 1.
    pub(super) document: usize,
}

impl Reader {
    pub(super) fn err(&self, node: &Node, path: &str, problem: impl Into<String>) -> InputError {
        InputError {
            document: self.document,
            line: node.line,
            path: path.to_owned(),
            problem: problem.into(),
        }
    }

    pub(super) fn map<'a>(
        &self,
        node: &'a Node,
        path: &str,
    ) -> Result<Option<&'a Node>, InputError> {
        match &node.value {
            Value::Map(_) => Ok(Some(node)),
            Value::Null => Ok(None),
            _ => Err(self.err(
                node,
                path,
                format!("expected a mapping, found {}", node.kind()),
            )),
        }
    }

    pub(super) fn list<'a>(
        &self,
        node: Option<&'a Node>,
        path: &str,
    ) -> Result<&'a [Node], InputError> {
        match node.map(|n| (n, &n.value)) {
            None | Some((_, Value::Null)) => Ok(&[]),
            Some((_, Value::Seq(items))) => Ok(items),
            Some((n, _)) => Err(self.err(n, path, format!("expected a list, found {}", n.kind()))),
        }
    }

    pub(super) fn string(
        &self,
        node: Option<&Node>,
        path: &str,
    ) -> Result<Option<String>, InputError> {
        match node {
            None => Ok(None),
            Some(n) if n.is_null() => Ok(None),
            Some(n) => n
                .as_str()
                .map(|s| Some(s.to_owned()))
                .ok_or_else(|| self.err(n, path, format!("expected a string, found {}", n.kind()))),
        }
    }

    pub(super) fn strings(
        &self,
        node: Option<&Node>,
        path: &str,
    ) -> Result<Vec<String>, InputError> {
        let mut out = Vec::new();
        for (i, item) in self.list(node, path)?.iter().enumerate() {
            let p = format!("{path}[{i}]");
            out.push(self.string(Some(item), &p)?.unwrap_or_default());
        }
        Ok(out)
    }

    /// A whole number written plain, within `0..=max`.
    pub(super) fn int(
        &self,
        node: Option<&Node>,
        path: &str,
        max: u64,
    ) -> Result<Option<u64>, InputError> {
        let Some(n) = node.filter(|n| !n.is_null()) else {
            return Ok(None);
        };
        match &n.value {
            Value::Scalar { text, plain: true } => match text.parse::<u64>() {
                Ok(v) if v <= max => Ok(Some(v)),
                Ok(_) => Err(self.err(n, path, format!("{text} is larger than {max}"))),
                Err(_) => {
                    Err(self.err(n, path, format!("expected a whole number, found {text:?}")))
                }
            },
            _ => Err(self.err(
                n,
                path,
                format!("expected a whole number, found {}", n.kind()),
            )),
        }
    }

    pub(super) fn port(&self, node: Option<&Node>, path: &str) -> Result<PortRef, InputError> {
        let Some(n) = node.filter(|n| !n.is_null()) else {
            return Err(InputError {
                document: self.document,
                line: 0,
                path: path.to_owned(),
                problem: "missing (a port number or name)".into(),
            });
        };
        match &n.value {
            Value::Scalar { text, plain: true } if text.bytes().all(|b| b.is_ascii_digit()) => {
                match text.parse::<u16>() {
                    Ok(p) if p > 0 => Ok(PortRef::Number(p)),
                    _ => Err(self.err(n, path, format!("port {text} is not from 1 to 65535"))),
                }
            }
            Value::Scalar { text, .. } => Ok(PortRef::Name(text.clone())),
            _ => Err(self.err(n, path, format!("expected a port, found {}", n.kind()))),
        }
    }
}
