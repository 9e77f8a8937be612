//! Random identifiers shaped like WeChat's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The sandbox is a dev tool: an OS RNG failure may as well stop it loudly.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("OS random source");
    buf
}

fn alnum(len: usize, prefix: &str) -> String {
    let mut out = String::from(prefix);
    for byte in bytes::<64>().iter().take(len - prefix.len()) {
        out.push(char::from(ALNUM[usize::from(*byte) % ALNUM.len()]));
    }
    out
}

/// A `wx.login`-style code: 32 alphanumerics.
pub fn code() -> String {
    alnum(32, "")
}

/// An openid: 28 characters starting with `o`, like `oGZUI0egBJY1zhBYw2KhdUfwVJJE`.
pub fn openid() -> String {
    alnum(28, "o")
}

/// A session_key: base64 of 16 random bytes, like WeChat's.
pub fn session_key() -> String {
    STANDARD.encode(bytes::<16>())
}

/// An access token: long and opaque like WeChat's.
pub fn access_token() -> String {
    format!("{}{}", alnum(64, "sbx_"), alnum(64, ""))
}

/// A random 16-byte IV.
pub fn iv() -> [u8; 16] {
    bytes::<16>()
}

/// A pack's `pkgId`: `ZY` and 19 digits, like `ZY2823973277692477440`.
pub fn pack_id() -> String {
    let mut out = String::from("ZY");
    for byte in bytes::<19>() {
        out.push(char::from(b'0' + byte % 10));
    }
    out
}

/// getuserriskrank's `unoin_id`: a positive number.
pub fn unoin_id() -> u64 {
    u64::from(u32::from_be_bytes(bytes::<4>()) | 1)
}
