#!/bin/sh
# Installs an OS from @BASE@ with the Asahi Linux installer. Written by
# nixos-image-tools @TOOL@; run it on the Mac:  curl -fsSL @BASE@/install | sh
# Everything is inside main, called on the last line: a download cut short
# runs nothing.
main() {
    set -eu
    base=@BASE_Q@
    pinned_url=@INSTALLER_URL_Q@
    pinned_sha256=@INSTALLER_SHA256_Q@
    installer_url="${NIT_INSTALLER_URL:-"$pinned_url"}"
    installer_sha256="${NIT_INSTALLER_SHA256:-"$pinned_sha256"}"
    # Device classes the installer gives only macOS 14.8.3 firmware (M3):
    # choose_ipsw raises IndexError for an entry whose supported_fw lacks it.
    m3_models=@M3_MODELS@
    # Entries of this list that lack 14.8.3 (empty when every entry has it).
    entries_without_m3=@ENTRIES_WITHOUT_M3@

    fail() { echo "install: error: $*" >&2; exit 1; }
    step() { echo "install: $*"; }
    # curl's own error, for the one line fail prints.
    fetch() {
        out=$(curl --fail --silent --show-error --location -o "$1" "$2" 2>&1) && return 0
        printf '%s' "$out" | tr '\n' ' '
        return 1
    }

    [ "$(uname -s 2>/dev/null)" = Darwin ] && macos=$(sw_vers -productVersion 2>/dev/null) ||
        fail "this is not macOS ($(uname -s 2>/dev/null)): run the line in Terminal on the Mac you install on"
    [ "$(uname -m)" = arm64 ] || [ "$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ] ||
        fail "this Mac is not Apple Silicon ($(uname -m)): Asahi Linux installs on M1 and M2 Macs only"
    major=${macos%%.*}
    minor=${macos#"$major"}; minor=${minor#.}; minor=${minor%%.*}
    if [ "$major" -lt 13 ] || { [ "$major" -eq 13 ] && [ "${minor:-0}" -lt 5 ]; }; then
        fail "macOS $macos is too old: update to macOS 13.5 or later first"
    fi
    # The installer's own device class: the first "compatible" string.
    model=$(ioreg -d2 -c IOPlatformExpertDevice 2>/dev/null |
        awk -F'"' '/"compatible"/ { print tolower($4); exit }')
    if [ -n "$entries_without_m3" ]; then
        case " $m3_models " in
        *" ${model:-unknown} "*)
            fail "this Mac ($model, M3) cannot install $entries_without_m3: its supported_fw lacks 14.8.3, the only firmware the installer offers M3 Macs (it would crash choosing one)"
            ;;
        esac
    fi

    command -v curl >/dev/null || fail "curl is missing: it ships with macOS, check PATH"
    dir=$(mktemp -d "${TMPDIR:-/tmp}/nixos-install.XXXXXX") || fail "cannot create a temporary directory"
    cd "$dir"
    step "downloading the Asahi Linux installer from $installer_url"
    why=$(fetch installer.tar.gz "$installer_url") ||
        fail "cannot download the installer from $installer_url ($why): check the network and the URL"
    sum=$(shasum -a 256 installer.tar.gz | cut -d ' ' -f 1)
    [ "$sum" = "$installer_sha256" ] ||
        fail "the installer from $installer_url has SHA-256 $sum, not the pinned $installer_sha256: refusing to run it"
    step "downloading the OS list from $base/installer_data.json"
    why=$(fetch installer_data.json "$base/installer_data.json") ||
        fail "cannot download $base/installer_data.json ($why): is the server still running?"
    tar -xzf installer.tar.gz || fail "cannot unpack the installer archive from $installer_url"
    [ -f install.sh ] || fail "the installer archive from $installer_url has no install.sh"

    export REPO_BASE="$base"
    export INSTALLER_DATA="$base/installer_data.json"
    export LC_ALL=en_US.UTF-8 LANG=en_US.UTF-8
    step "starting the installer in $dir (it asks for your password to run as root)"
    # caffeinate: the Mac must not sleep while the installer resizes and writes.
    if [ "$(id -u)" = 0 ]; then
        exec caffeinate -dis ./install.sh
    else
        exec caffeinate -dis sudo -E ./install.sh
    fi
}
main "$@"
