//! Values that several services parse at their boundary: once parsed, a
//! `Username`, a `SlotTime` or an `OrderId` is known to be well formed.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// 3 to 150 characters: letters, digits and `_ . @ + -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, String> {
        let len = value.chars().count();
        if !(3..=150).contains(&len) {
            return Err("username must be 3 to 150 characters".into());
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || "_.@+-".contains(c);
        if !value.chars().all(allowed) {
            return Err("username may hold only letters, digits and _ . @ + -".into());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<Username> for String {
    fn from(value: Username) -> Self {
        value.0
    }
}

to_sql_as!(Username, &str, |username| username.0.as_str());
to_sql_as!(SlotTime, &str, |slot| slot.0.as_str());

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A delivery slot, `"HH:MM"` on the 24-hour clock.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SlotTime(String);

impl SlotTime {
    pub fn parse(value: &str) -> Result<Self, String> {
        let error = || format!("slot must be a time \"HH:MM\", got {value:?}");
        let (hours, minutes) = value.split_once(':').ok_or_else(error)?;
        let two_digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hours) || !two_digits(minutes) {
            return Err(error());
        }
        let (h, m): (u8, u8) = (
            hours.parse().map_err(|_| error())?,
            minutes.parse().map_err(|_| error())?,
        );
        if h > 23 || m > 59 {
            return Err(error());
        }
        Ok(Self(value.to_owned()))
    }

    /// The slot at `hour:00`.
    pub fn on_the_hour(hour: u8) -> Result<Self, String> {
        Self::parse(&format!("{hour:02}:00"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SlotTime {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        Self::parse(&value)
    }
}

impl From<SlotTime> for String {
    fn from(value: SlotTime) -> Self {
        value.0
    }
}

/// An order's id, given by the orders database (`orders.id`): positive.
/// It keys the saga, its queue entry and every participant's reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct OrderId(i64);

impl OrderId {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for OrderId {
    type Error = String;
    fn try_from(value: i64) -> Result<Self, String> {
        if value > 0 {
            Ok(Self(value))
        } else {
            Err(format!("an order id is a positive integer, got {value}"))
        }
    }
}

impl From<OrderId> for i64 {
    fn from(id: OrderId) -> Self {
        id.0
    }
}

/// As a path segment: `/api/orders/{id}`.
impl FromStr for OrderId {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let value: i64 = text
            .parse()
            .map_err(|_| format!("an order id is a positive integer, got {text:?}"))?;
        Self::try_from(value)
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

to_sql_as!(OrderId, i64, |id| id.0);

impl<'a> tokio_postgres::types::FromSql<'a> for OrderId {
    fn from_sql(
        ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Self::try_from(i64::from_sql(ty, raw)?)?)
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        <i64 as tokio_postgres::types::FromSql>::accepts(ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert!(Username::parse("Kaitlyn.Kunde").is_ok());
        assert!(Username::parse("a_b-c+d@e").is_ok());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(&"x".repeat(151)).is_err());
        assert!(Username::parse("../etc").is_err());
    }

    #[test]
    fn slots_are_hh_mm() {
        assert!(SlotTime::parse("08:00").is_ok());
        assert!(SlotTime::parse("23:59").is_ok());
        for bad in [
            "8:00", "24:00", "12:60", "12-00", "", "12:00:00", "ab:cd", "+1:00",
        ] {
            assert!(SlotTime::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(
            SlotTime::on_the_hour(9).map(|s| s.0),
            Ok("09:00".to_owned())
        );
    }

    #[test]
    fn order_ids_are_positive() {
        assert_eq!("42".parse::<OrderId>().map(OrderId::get), Ok(42));
        for bad in ["0", "-3", "", "1.5", "x", "99999999999999999999"] {
            assert!(bad.parse::<OrderId>().is_err(), "{bad} should be refused");
        }
        assert!(serde_json::from_str::<OrderId>("0").is_err());
        assert_eq!(
            serde_json::to_string(&OrderId::try_from(7).ok()).ok(),
            Some("7".to_owned())
        );
    }
}
