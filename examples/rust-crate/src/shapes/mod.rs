//! Shapes that know their area and perimeter.

mod circle;
mod rectangle;

pub use circle::Circle;
pub use rectangle::Rectangle;

/// Anything with an area and a perimeter.
pub trait Shape {
    fn area(&self) -> f64;
    fn perimeter(&self) -> f64;

    /// A one-line description for reports.
    fn describe(&self) -> String {
        format!("area {:.2}, perimeter {:.2}", self.area(), self.perimeter())
    }
}
