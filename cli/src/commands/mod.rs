pub mod classify;
pub mod evaluate;
pub mod exceptions;
pub mod init;
pub mod live;
pub mod sweep;
