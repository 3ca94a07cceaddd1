pub mod charts;
pub mod format;
pub mod layout;
pub mod secrets;
