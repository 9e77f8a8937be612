//! One route per function: the request's shape, the use-case call, the 200 body. Each is
//! generic over the ports (the fast tier serves them from the in-memory twins); the
//! `*Function` aliases are what the binaries run, on DynamoDB and WeChat.

mod login;
mod phone;
mod session;

pub use login::{LoginFunction, LoginRoute};
pub use phone::{PhoneFunction, PhoneRoute};
pub use session::{SessionFunction, SessionRoute};
