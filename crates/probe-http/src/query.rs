//! A small, allocation-light reader of `application/x-www-form-urlencoded` query strings.

use std::borrow::Cow;

/// A request's query string.
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<'a>(pub &'a str);

impl<'a> Query<'a> {
    /// The decoded `(name, value)` pairs, in order; `?verbose` gives `("verbose", "")`.
    pub fn pairs(self) -> impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)> {
        // Most probes carry no query: skip setting up the search for `&` at all.
        let query = Some(self.0).filter(|q| !q.is_empty());
        query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(k), decode(v))
            })
    }

    /// Whether the parameter `name` is present (with or without a value).
    pub fn has(self, name: &str) -> bool {
        self.pairs().any(|(k, _)| k == name)
    }

    /// The first value of `name`.
    pub fn get(self, name: &str) -> Option<Cow<'a, str>> {
        self.pairs().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Every value of `name`.
    pub fn all(self, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
        self.pairs().filter(move |(k, _)| k == name).map(|(_, v)| v)
    }
}

fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains(['%', '+']) {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                Some(v) => {
                    out.push(v);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flags_values_and_repeats() {
        let q = Query("verbose&exclude=a&exclude=b%2Dc&format=json&x=%zz+y");
        assert!(q.has("verbose"));
        assert_eq!(q.all("exclude").collect::<Vec<_>>(), ["a", "b-c"]);
        assert_eq!(q.get("format").as_deref(), Some("json"));
        assert_eq!(q.get("x").as_deref(), Some("%zz y"));
        assert!(!Query("").has("verbose"));
    }
}
