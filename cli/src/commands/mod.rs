pub mod evaluate;
pub mod live;
