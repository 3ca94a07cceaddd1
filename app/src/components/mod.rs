pub mod layout;
pub mod secrets;
