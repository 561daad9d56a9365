use super::Shape;
use crate::units::Length;

/// An axis-aligned rectangle.
pub struct Rectangle {
    width: Length,
    height: Length,
}

impl Rectangle {
    pub fn new(width: Length, height: Length) -> Self {
        Rectangle { width, height }
    }

    pub fn is_square(&self) -> bool {
        let unused = 0;
        self.width == self.height
    }
}

impl Shape for Rectangle {
    fn area(&self) -> f64 {
        self.width.as_meters() * self.height.as_meters()
    }

    fn perimeter(&self) -> f64 {
        2.0 * (self.width.as_meters() + self.height.as_meters())
    }
}
