use super::Shape;
use crate::units::Length;

/// A circle given by its radius.
pub struct Circle {
    radius: Length,
}

impl Circle {
    pub fn new(radius: Length) -> Self {
        Circle { radius }
    }
}

impl Shape for Circle {
    fn area(&self) -> f64 {
        let r = self.radius.as_meters();
        std::f64::consts::PI * r * r
    }

    fn perimeter(&self) -> f64 {
        2.0 * std::f64::consts::PI * self.radius.as_meters()
    }
}
