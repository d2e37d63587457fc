//! A member's computed digests: one or two per member, so a sorted vector,
//! not a map (a `BTreeMap` node per member cost 288 bytes and an allocation
//! on every worker for a 50,000-member zip).

use super::Algorithm;
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Lower-case hex (decimal for cksum) by algorithm, in algorithm order; at
/// most one value per algorithm. Serialised as a JSON object, as a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests(Vec<(Algorithm, String)>);

impl Digests {
    /// The value computed with `algorithm`, if any.
    pub fn get(&self, algorithm: &Algorithm) -> Option<&String> {
        self.0
            .iter()
            .find_map(|(a, value)| (a == algorithm).then_some(value))
    }

    /// Whether a value was computed with `algorithm`.
    pub fn contains_key(&self, algorithm: &Algorithm) -> bool {
        self.get(algorithm).is_some()
    }

    /// Set the value of `algorithm`, replacing an earlier one.
    pub fn insert(&mut self, algorithm: Algorithm, value: String) {
        match self.0.binary_search_by(|(a, _)| a.cmp(&algorithm)) {
            Ok(at) => {
                if let Some(slot) = self.0.get_mut(at) {
                    slot.1 = value;
                }
            }
            Err(at) => self.0.insert(at, (algorithm, value)),
        }
    }

    /// Every (algorithm, value), in algorithm order.
    pub fn iter(&self) -> impl Iterator<Item = (&Algorithm, &String)> {
        self.0.iter().map(|(a, value)| (a, value))
    }

    /// No value computed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many values.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl Extend<(Algorithm, String)> for Digests {
    fn extend<I: IntoIterator<Item = (Algorithm, String)>>(&mut self, values: I) {
        for (algorithm, value) in values {
            self.insert(algorithm, value);
        }
    }
}

impl FromIterator<(Algorithm, String)> for Digests {
    fn from_iter<I: IntoIterator<Item = (Algorithm, String)>>(values: I) -> Digests {
        let mut digests = Digests::default();
        digests.extend(values);
        digests
    }
}

impl IntoIterator for Digests {
    type Item = (Algorithm, String);
    type IntoIter = std::vec::IntoIter<(Algorithm, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Serialize for Digests {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (algorithm, value) in &self.0 {
            map.serialize_entry(algorithm, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_value_per_algorithm_in_order_and_json_as_a_map() {
        let mut d: Digests = [
            (Algorithm::Sha512, "b".to_owned()),
            (Algorithm::Md5, "a".to_owned()),
        ]
        .into_iter()
        .collect();
        d.insert(Algorithm::Sha512, "c".to_owned());
        assert_eq!(d.len(), 2);
        assert_eq!(d.get(&Algorithm::Sha512).map(String::as_str), Some("c"));
        assert!(!d.contains_key(&Algorithm::Sha256));
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, r#"{"md5":"a","sha512":"c"}"#);
    }
}
