//! Money is an exact decimal, never a float. On the wire it is a JSON number
//! (`100`, `99.5`): serde_json keeps numbers as their text
//! (`arbitrary_precision`), so they are parsed and printed digit for digit.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A positive amount with at most two decimal places, at most `Amount::MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(Decimal);

impl Amount {
    /// The largest amount one request may move.
    pub const MAX: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

    pub fn parse(value: Decimal) -> Result<Self, String> {
        let value = value.normalize();
        if value <= Decimal::ZERO {
            return Err("amount must be greater than 0".into());
        }
        if value.scale() > 2 {
            return Err("amount must have at most 2 decimal places".into());
        }
        if value > Self::MAX {
            return Err(format!("amount must be at most {}", Self::MAX));
        }
        Ok(Self(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }
}

to_sql_as!(Amount, Decimal, |amount| amount.0);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let decimal = deserialize_decimal(deserializer)?;
        Amount::parse(decimal).map_err(D::Error::custom)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_decimal(&self.0, serializer)
    }
}

/// Reads a JSON number (only a number: `"10"` is refused) as an exact decimal.
pub fn deserialize_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decimal, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    let text = number.to_string();
    Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| D::Error::custom(format!("{text} is not an amount we can hold")))
}

/// Writes a decimal as a JSON number with no trailing zeros (`100`, `99.5`).
pub fn serialize_decimal<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let text = value.normalize().to_string();
    let number = serde_json::Number::from_str(&text).map_err(serde::ser::Error::custom)?;
    number.serialize(serializer)
}
