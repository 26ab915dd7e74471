//! The build's notion of "now": `SOURCE_DATE_EPOCH`, as reproducible-builds.org
//! defines it.

use crate::error::{Error, Result};

/// 1980-01-01T00:00:00Z, the earliest time a zip or FAT timestamp can hold.
pub const DOS_EPOCH: i64 = 315_532_800;

/// `SOURCE_DATE_EPOCH` if set (it must then be a non-negative integer), else `default`.
pub fn source_date_epoch_or(default: i64) -> Result<i64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v.trim().parse::<i64>().ok().filter(|t| *t >= 0).ok_or_else(|| {
            Error::invalid(format!(
                "SOURCE_DATE_EPOCH={v:?} is not a non-negative number of seconds since 1970: fix or unset it"
            ))
        }),
        _ => Ok(default),
    }
}

/// A civil UTC date-time (proleptic Gregorian), enough for FAT and zip stamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UtcDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcDateTime {
    pub fn from_unix(t: i64) -> Self {
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcDateTime {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }

    /// MS-DOS (date, time) words; times are clamped into 1980..=2107 and
    /// seconds rounded down to even, as the format requires.
    pub fn dos(t: i64) -> (u16, u16) {
        let t = t.clamp(DOS_EPOCH, 4_354_819_198); // 2107-12-31T23:59:58Z
        let d = UtcDateTime::from_unix(t);
        let date = (((d.year - 1980) as u16) << 9) | ((d.month as u16) << 5) | d.day as u16;
        let time = ((d.hour as u16) << 11) | ((d.minute as u16) << 5) | (d.second as u16 / 2);
        (date, time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil() {
        assert_eq!(
            UtcDateTime::from_unix(0),
            UtcDateTime {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0,
                minute: 0,
                second: 0
            }
        );
        assert_eq!(
            UtcDateTime::from_unix(1_700_000_000),
            UtcDateTime {
                year: 2023,
                month: 11,
                day: 14,
                hour: 22,
                minute: 13,
                second: 20
            }
        );
        assert_eq!(UtcDateTime::dos(0), ((1 << 5) | 1, 0));
        assert_eq!(UtcDateTime::dos(DOS_EPOCH), ((1 << 5) | 1, 0));
    }
}
