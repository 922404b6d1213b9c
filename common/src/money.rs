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

/// Reads a JSON number (only a number: `"10"` is refused) as an exact decimal:
/// a number that a decimal cannot hold digit for digit (too many places, too
/// large) is refused, never rounded.
pub fn deserialize_decimal<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Decimal, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    let text = number.to_string();
    exact_decimal(&text)
        .ok_or_else(|| D::Error::custom(format!("{} is not an amount we can hold", shorten(&text))))
}

/// `text` (a JSON number, `1.5`, `-2`, `15e-1`) as a decimal, `None` unless
/// it is held exactly.
fn exact_decimal(text: &str) -> Option<Decimal> {
    let Some((mantissa, exponent)) = text.split_once(['e', 'E']) else {
        return Decimal::from_str_exact(text).ok();
    };
    let mantissa = Decimal::from_str_exact(mantissa).ok()?;
    // A decimal has at most 28 places; anything beyond is not held exactly.
    let exponent: i32 = exponent.parse().ok().filter(|e: &i32| e.abs() <= 28)?;
    if exponent >= 0 {
        let scale = Decimal::from_i128_with_scale(10_i128.pow(exponent.unsigned_abs()), 0);
        mantissa.checked_mul(scale)
    } else {
        let scale = mantissa.scale() + exponent.unsigned_abs();
        Decimal::try_from_i128_with_scale(mantissa.mantissa(), scale).ok()
    }
}

/// At most 40 characters of a client's number, for an error message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// Writes a decimal as a JSON number with no trailing zeros (`100`, `99.5`).
pub fn serialize_decimal<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    let text = value.normalize().to_string();
    let number = serde_json::Number::from_str(&text).map_err(serde::ser::Error::custom)?;
    number.serialize(serializer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> Result<Amount, String> {
        serde_json::from_str::<Amount>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn amounts_are_taken_exactly_or_refused() {
        assert_eq!(amount("99.5").map(Amount::value), Ok(Decimal::new(995, 1)));
        assert_eq!(amount("1.50").map(Amount::value), Ok(Decimal::new(15, 1)));
        assert_eq!(amount("15e-1").map(Amount::value), Ok(Decimal::new(15, 1)));
        assert_eq!(amount("1E2").map(Amount::value), Ok(Decimal::new(100, 0)));
        for refused in [
            "1.000000000000000000000000000001",
            "0.000000000000000000000000000000001",
            "1.001",
            "1001e-3",
            "1e-999999999999",
            "1e999999999999",
            "123456789012345678901234567890123",
            "0",
            "-1",
            "\"10\"",
        ] {
            assert!(amount(refused).is_err(), "{refused} should be refused");
        }
    }

    #[test]
    fn long_numbers_are_shortened_in_errors() {
        let huge = "9".repeat(5000);
        let message = amount(&huge).err().unwrap_or_default();
        assert!(message.len() < 200, "{message}");
    }
}
