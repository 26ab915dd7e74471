//! Which boot firmware the installer would pick for each Mac, given an
//! entry's `supported_fw`: a copy of the tables and rule of `choose_ipsw` in
//! the installer's `src/main.py` (asahi-installer, 2026). A list that leaves
//! some Mac with no candidate makes the installer crash on it
//! (`minver[0]`, IndexError) instead of refusing cleanly.

/// The firmware versions in the installer's `IPSW_VERSIONS` order (which is
/// also the order `choose_ipsw` keeps: it picks the *last* available one).
/// `expert_only` and the model restriction as the installer has them.
pub const IPSW: &[Ipsw] = &[
    Ipsw::new("12.3.1", false, None),
    Ipsw::new("12.3", false, None),
    Ipsw::new("13.5", false, None),
    Ipsw::new("14.8.3", true, Some(M3_MODELS)),
];

const M3_MODELS: &[&str] = &[
    "j433ap", "j434ap", "j504ap", "j613ap", "j615ap", "j514sap", "j514cap", "j514map", "j516sap",
    "j516cap", "j516map",
];

pub struct Ipsw {
    pub version: &'static str,
    pub expert_only: bool,
    pub devices: Option<&'static [&'static str]>,
}

impl Ipsw {
    const fn new(
        version: &'static str,
        expert_only: bool,
        devices: Option<&'static [&'static str]>,
    ) -> Self {
        Ipsw {
            version,
            expert_only,
            devices,
        }
    }
}

/// A Mac the installer supports outside expert mode: its device class, what
/// it is, and its minimum macOS (the larger of `CHIP_MIN_VER` for its chip
/// and its `DEVICES` entry).
pub struct Mac {
    pub class: &'static str,
    pub name: &'static str,
    pub min_ver: &'static str,
}

pub const MACS: &[Mac] = &[
    Mac::new("j274ap", "Mac mini (M1, 2020)", "11.0"),
    Mac::new("j293ap", "MacBook Pro (13-inch, M1, 2020)", "11.0"),
    Mac::new("j313ap", "MacBook Air (M1, 2020)", "11.0"),
    Mac::new("j456ap", "iMac (24-inch, M1, 2021)", "11.3"),
    Mac::new("j457ap", "iMac (24-inch, M1, 2021)", "11.3"),
    Mac::new("j314cap", "MacBook Pro (14-inch, M1 Max, 2021)", "12.0"),
    Mac::new("j314sap", "MacBook Pro (14-inch, M1 Pro, 2021)", "12.0"),
    Mac::new("j316cap", "MacBook Pro (16-inch, M1 Max, 2021)", "12.0"),
    Mac::new("j316sap", "MacBook Pro (16-inch, M1 Pro, 2021)", "12.0"),
    Mac::new("j375cap", "Mac Studio (M1 Max, 2022)", "12.3"),
    Mac::new("j375dap", "Mac Studio (M1 Ultra, 2022)", "12.3"),
    Mac::new("j413ap", "MacBook Air (M2, 2022)", "12.4"),
    Mac::new("j493ap", "MacBook Pro (13-inch, M2, 2022)", "12.4"),
    Mac::new("j414cap", "MacBook Pro (14-inch, M2 Max, 2023)", "13.2"),
    Mac::new("j414sap", "MacBook Pro (14-inch, M2 Pro, 2023)", "13.2"),
    Mac::new("j416cap", "MacBook Pro (16-inch, M2 Max, 2023)", "13.2"),
    Mac::new("j416sap", "MacBook Pro (16-inch, M2 Pro, 2023)", "13.2"),
    Mac::new("j473ap", "Mac mini (M2, 2023)", "13.2"),
    Mac::new("j474sap", "Mac mini (M2 Pro, 2023)", "13.2"),
    Mac::new("j415ap", "MacBook Air (15-inch, M2, 2023)", "13.4"),
    Mac::new("j475cap", "Mac Studio (M2 Max, 2023)", "13.4"),
    Mac::new("j475dap", "Mac Studio (M2 Ultra, 2023)", "13.4"),
    Mac::new("j180dap", "Mac Pro (M2 Ultra, 2023)", "13.4"),
];

impl Mac {
    const fn new(class: &'static str, name: &'static str, min_ver: &'static str) -> Self {
        Mac {
            class,
            name,
            min_ver,
        }
    }
}

/// `split_ver` for the dotted numbers used here.
fn ver(s: &str) -> Vec<u32> {
    s.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The firmware `choose_ipsw`'s `minver` list would hold for `mac`.
pub fn candidates<'a>(mac: &Mac, supported_fw: &[&str]) -> Vec<&'a str> {
    IPSW.iter()
        .filter(|i| ver(i.version) >= ver(mac.min_ver))
        .filter(|i| supported_fw.contains(&i.version))
        .filter(|i| i.devices.map_or(true, |d| d.contains(&mac.class)))
        .map(|i| i.version)
        .collect()
}

/// The Macs a `supported_fw` list leaves without any candidate: the
/// installer crashes on each of them before partitioning.
pub fn stranded(supported_fw: &[&str]) -> Vec<&'static Mac> {
    MACS.iter()
        .filter(|m| candidates(m, supported_fw).is_empty())
        .collect()
}

/// One line for an error: which Macs crash and what to add.
pub fn stranded_problem(supported_fw: &[&str]) -> Option<String> {
    let macs = stranded(supported_fw);
    let first = macs.first()?;
    let more = match macs.len() {
        1 => String::new(),
        n => format!(" and {} other models", n - 1),
    };
    Some(format!(
        "supported_fw {supported_fw:?} offers no firmware the {} ({}){more} can use: the installer crashes on them (IndexError in choose_ipsw); include \"13.5\", the only firmware every M1 and M2 Mac accepts",
        first.name, first.class
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_serves_every_mac() {
        assert!(stranded(&["12.3", "12.3.1", "13.5"]).is_empty());
        assert!(stranded(&["13.5"]).is_empty());
    }

    #[test]
    fn without_13_5_the_m2_macs_are_stranded() {
        let s = stranded(&["12.3", "12.3.1"]);
        assert!(s.iter().any(|m| m.class == "j413ap"));
        assert!(s.iter().all(|m| ver(m.min_ver) > ver("12.3.1")));
        assert_eq!(s.len(), 12);
        assert!(stranded_problem(&["12.3", "12.3.1"])
            .unwrap()
            .contains("MacBook Air (M2, 2022) (j413ap) and 11 other models"));
        // 14.8.3 is for M3 models only: it helps no M1/M2 Mac.
        assert_eq!(stranded(&["14.8.3"]).len(), MACS.len());
    }
}
