pub mod admin;
pub mod apps;
pub mod docs;
pub mod home;
pub mod not_found;
pub mod org;
pub mod signin;
pub mod status;
