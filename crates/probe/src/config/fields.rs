//! A strict reader over one TOML table: typed getters, and an error for every key nobody read.

use std::collections::BTreeMap;
use std::time::Duration;

use toml::Value;

use super::ConfigError;

/// The keys of one table, taken one by one; [`Fields::finish`] rejects the leftovers.
pub struct Fields {
    table: BTreeMap<String, Value>,
    /// Where these keys live, for messages: `server`, `check[2] "db"`.
    place: String,
    /// Keys this table accepts, for the "expected one of" hint.
    known: Vec<&'static str>,
}

impl Fields {
    /// Reads `table`, found at `place`.
    pub fn new(table: toml::Table, place: impl Into<String>) -> Self {
        Fields {
            table: table.into_iter().collect(),
            place: place.into(),
            known: Vec::new(),
        }
    }

    /// Where these keys live.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// An error about `key` of this table.
    pub fn error(&self, key: &str, problem: impl Into<String>) -> ConfigError {
        ConfigError::key(format!("{}.{key}", self.place), problem)
    }

    fn take(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        self.table.remove(key)
    }

    /// A string value.
    pub fn string(&mut self, key: &'static str) -> Result<Option<String>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.error(key, format!("expected a string, found {}", v.type_str()))),
        }
    }

    /// A string value that must be present.
    pub fn required_string(&mut self, key: &'static str) -> Result<String, ConfigError> {
        self.string(key)?
            .ok_or_else(|| self.error(key, "missing (required)"))
    }

    /// A list of strings (a single string is accepted as a list of one).
    pub fn strings(&mut self, key: &'static str) -> Result<Option<Vec<String>>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s])),
            Some(Value::Array(items)) => {
                items
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        other => Err(self
                            .error(key, format!("expected strings, found {}", other.type_str()))),
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
            Some(v) => Err(self.error(
                key,
                format!("expected a list of strings, found {}", v.type_str()),
            )),
        }
    }

    /// A duration written as a string (`"800ms"`, `"2s"`), at most
    /// [`limit_for(key)`](super::duration::limit_for).
    pub fn duration(&mut self, key: &'static str) -> Result<Option<Duration>, ConfigError> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => super::duration::bounded(&s, super::duration::limit_for(key))
                .map(Some)
                .map_err(|problem| self.error(key, problem)),
        }
    }

    /// A boolean.
    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(b)),
            Some(v) => Err(self.error(
                key,
                format!("expected true or false, found {}", v.type_str()),
            )),
        }
    }

    /// A non-negative integer that fits in `u32`.
    pub fn u32(&mut self, key: &'static str) -> Result<Option<u32>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Integer(i)) => u32::try_from(i)
                .map(Some)
                .map_err(|_| self.error(key, format!("{i} is out of range (0 to {})", u32::MAX))),
            Some(v) => Err(self.error(key, format!("expected an integer, found {}", v.type_str()))),
        }
    }

    /// Fails on the first key nobody asked for.
    pub fn finish(self) -> Result<(), ConfigError> {
        match self.table.keys().next() {
            None => Ok(()),
            Some(k) => {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                Err(ConfigError::key(
                    format!("{}.{k}", self.place),
                    format!("unknown key (expected one of: {})", known.join(", ")),
                ))
            }
        }
    }
}

impl Fields {
    /// A sub-table, such as `[server]`.
    pub fn table(&mut self, key: &'static str) -> Result<Option<toml::Table>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(ConfigError::key(
                key,
                format!("expected a table, found {}", v.type_str()),
            )),
        }
    }

    /// A table inside this one (`debounce = { ... }` in a `[[check]]`); errors name the
    /// place.
    pub fn inner_table(&mut self, key: &'static str) -> Result<Option<toml::Table>, ConfigError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Table(t)) => Ok(Some(t)),
            Some(v) => Err(self.error(key, format!("expected a table, found {}", v.type_str()))),
        }
    }

    /// An array of tables, such as `[[check]]`.
    pub fn tables(&mut self, key: &'static str) -> Result<Vec<toml::Table>, ConfigError> {
        match self.take(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Table(t) => Ok(t),
                    other => Err(ConfigError::key(
                        key,
                        format!("expected tables, found {}", other.type_str()),
                    )),
                })
                .collect(),
            Some(v) => Err(ConfigError::key(
                key,
                format!("expected [[{key}]] tables, found {}", v.type_str()),
            )),
        }
    }
}
