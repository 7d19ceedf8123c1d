pub mod audit;
pub mod classify;
pub mod demo;
pub mod evaluate;
pub mod exceptions;
pub mod init;
pub mod live;
pub mod sweep;
