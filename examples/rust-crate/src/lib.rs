//! A small geometry crate used by the Agentic Optimizer docs and tests.

pub mod shapes;
pub mod units;

pub use shapes::{Circle, Rectangle, Shape};
pub use units::Length;

/// Sum of the areas of every shape in `shapes`.
pub fn total_area(shapes: &[Box<dyn Shape>]) -> f64 {
    shapes.iter().map(|s| s.area()).sum()
}

/// The shape with the largest area, if any.
pub fn largest(shapes: &[Box<dyn Shape>]) -> Option<&dyn Shape> {
    shapes
        .iter()
        .map(|s| s.as_ref())
        .max_by(|a, b| a.area().total_cmp(&b.area()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_area_adds_up() {
        let shapes: Vec<Box<dyn Shape>> = vec![
            Box::new(Rectangle::new(Length::meters(2.0), Length::meters(3.0))),
            Box::new(Circle::new(Length::meters(1.0))),
        ];
        let total = total_area(&shapes);
        assert!((total - (6.0 + std::f64::consts::PI)).abs() < 1e-9);
    }
}
