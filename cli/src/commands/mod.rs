pub mod evaluate;
pub mod live;
pub mod sweep;
