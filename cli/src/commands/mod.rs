pub mod classify;
pub mod evaluate;
pub mod live;
pub mod sweep;
