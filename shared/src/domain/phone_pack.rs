//! WeChat's prepaid phone-verification packs (付费管理): one per kind of verification, each
//! successful verification using one unit; an empty pack makes the button fail on the
//! device (`errno 1400001`).

/// The two billed kinds of phone verification, each with its own packs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhonePack {
    /// 手机号快速验证 (`open-type="getPhoneNumber"`): 0.03 CNY a success.
    Quick,
    /// 手机号实时验证 (`open-type="getRealtimePhoneNumber"`): 0.04 CNY a success.
    Realtime,
}

impl PhonePack {
    /// Both kinds.
    pub const ALL: [Self; 2] = [Self::Quick, Self::Realtime];

    /// WeChat's product id (SPU) for the kind, as `/wxa/charge/usage/get` takes it.
    pub fn spu_id(self) -> &'static str {
        match self {
            Self::Quick => "10000077",
            Self::Realtime => "10000086",
        }
    }

    /// The kind's name in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quick => "quick",
            Self::Realtime => "realtime",
        }
    }
}

/// What WeChat reports of one kind's packs: every unit the current packs hold, and those
/// used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackUsage {
    /// Units of the packs in force (WeChat's `all`).
    pub all: u64,
    /// Units used (WeChat's `effectiveUse`).
    pub used: u64,
}

impl PackUsage {
    /// Units still to use: never below zero.
    pub fn left(self) -> u64 {
        self.all.saturating_sub(self.used)
    }
}
