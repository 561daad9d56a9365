//! Lengths with an explicit unit, so nobody adds feet to meters.

use std::fmt;

/// A length stored in meters.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Length {
    meters: f64,
}

impl Length {
    pub fn meters(value: f64) -> Self {
        Length { meters: value }
    }

    pub fn feet(value: f64) -> Self {
        Length { meters: value * 0.3048 }
    }

    pub fn as_meters(&self) -> f64 {
        self.meters
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} m", self.meters)
    }
}
