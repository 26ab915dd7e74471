# The ESP tree, built declaratively (no switch-to-configuration in a VM): the
# files NixOS's systemd-boot installer would write for generation 1, under the
# names it uses, so the first `nixos-rebuild` on the Mac takes them over.
# callPackage-style: only runCommand is needed.
{ runCommand }:

{
  name ? "esp",
  # "${kernel}/${config.system.boot.loader.kernelFile}"
  kernel,
  # "${config.system.build.initialRamdisk}/${config.system.boot.loader.initrdFile}"
  initrd,
  # config.system.build.toplevel: the entry boots "${toplevel}/init"
  toplevel,
  kernelParams ? [ ],
  # systemd-boot's EFI binary, e.g. "${systemd}/lib/systemd/boot/efi/systemd-bootaa64.efi"
  systemdBootEfi,
  # "AA64" (BOOTAA64.EFI) and "aa64" (systemd-bootaa64.efi)
  efiArch ? "aa64",
  distroName ? "NixOS",
  # The bootspec label: "NixOS Xantusia 25.11.20260723.e2587ca (Linux 6.18.10-asahi)"
  label,
  sortKey ? "nixos",
  # Contents of loader/loader.conf (helpers.nix loaderConf).
  loaderConf,
  # boot.loader.systemd-boot.extraFiles: { "m1n1/boot.bin" = drv; }
  extraFiles ? { },
  # boot.loader.systemd-boot.extraEntries: { "memtest.conf" = text; }
  extraEntries ? { },
  # The device tree blob the entry hands to Linux, or null: with
  # boot.loader.systemd-boot.installDeviceTree,
  # "${config.hardware.deviceTree.package}/${config.hardware.deviceTree.name}"
  # (the bootspec's org.nixos.systemd-boot devicetree).
  devicetree ? null,
  # Build date shown in the entry's version line (the real installer uses the
  # generation's ctime); fixed so the tree is reproducible.
  epoch ? (import ./helpers).dosEpoch,
}:

let
  helpers = import ./helpers;
  entryNames = builtins.attrNames extraEntries;
  entryAttr = i: "extraEntry${toString i}";
  entryAttrs = builtins.genList entryAttr (builtins.length entryNames);
  upper = builtins.replaceStrings [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ] [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
in
runCommand name
  (
    {
    inherit
      kernel
      initrd
      systemdBootEfi
      loaderConf
      epoch
      distroName
      sortKey
      label
      ;
    init = "${toplevel}/init";
    devicetree = if devicetree == null then "" else "${devicetree}";
    kernelParams = builtins.concatStringsSep " " kernelParams;
    extraFilesList = helpers.fileListText extraFiles;
    extraEntryNames = builtins.concatStringsSep "\n" entryNames;
    bootName = "BOOT${upper efiArch}.EFI";
    systemdBootName = "systemd-boot${efiArch}.efi";
    passAsFile = [
      "loaderConf"
      "extraFilesList"
    ]
    ++ entryAttrs;
    # What the installed system's systemd-boot installer must copy again
    # for the markers below (tests/nix/run.sh replays that step).
    passthru = { inherit extraFiles extraEntries; };
  }
  // builtins.listToAttrs (
    builtins.genList (i: {
      name = entryAttr i;
      value = extraEntries.${builtins.elemAt entryNames i};
    }) (builtins.length entryNames)
  )
  )
  ''
    set -eu
    # systemd-boot-builder.py copy_from_file: the resolved store file's
    # top-level store directory name, a dash, its base name, ".efi".
    efi_name() {
      local p rel dir
      p=$(realpath "$1")
      rel=''${p#"$NIX_STORE"/}
      dir=''${rel%%/*}
      if [ "$rel" = "$dir" ]; then
        echo "EFI/nixos/$dir.efi"
      else
        echo "EFI/nixos/$dir-''${p##*/}.efi"
      fi
    }

    mkdir -p "$out/EFI/BOOT" "$out/EFI/systemd" "$out/EFI/nixos/.extra-files" \
      "$out/EFI/Linux" "$out/loader/entries"

    # What `bootctl install` puts on the ESP.
    cp "$systemdBootEfi" "$out/EFI/BOOT/$bootName"
    cp "$systemdBootEfi" "$out/EFI/systemd/$systemdBootName"
    printf 'type1\n' > "$out/loader/entries.srel"

    kernel_efi=$(efi_name "$kernel")
    initrd_efi=$(efi_name "$initrd")
    cp "$(realpath "$kernel")" "$out/$kernel_efi"
    cp "$(realpath "$initrd")" "$out/$initrd_efi"
    if [ -n "$devicetree" ]; then
      devicetree_efi=$(efi_name "$devicetree")
      cp "$(realpath "$devicetree")" "$out/$devicetree_efi"
    fi

    cp "$loaderConfPath" "$out/loader/loader.conf"

    # systemd-boot-builder.py write_entry, generation 1, no machine-id yet;
    # the devicetree line comes last, as there.
    build_date=$(date -u -d "@$epoch" +%F)
    {
      printf 'title %s\n' "$distroName"
      printf 'sort-key %s\n' "$sortKey"
      printf 'version Generation 1 %s, built on %s\n' "$label" "$build_date"
      printf 'linux /%s\n' "$kernel_efi"
      printf 'initrd /%s\n' "$initrd_efi"
      printf 'options init=%s %s\n' "$init" "$kernelParams"
      if [ -n "$devicetree" ]; then
        printf 'devicetree /%s\n' "$devicetree_efi"
      fi
    } > "$out/loader/entries/nixos-generation-1.conf"

    # boot.loader.systemd-boot.extraFiles, with the empty markers under
    # EFI/nixos/.extra-files that let the installer replace them later.
    while IFS="$(printf '\t')" read -r dest src; do
      [ -n "$dest" ] || continue
      case "$dest" in /*|*..*) echo "esp: extra file name '$dest' must be relative, without '..'" >&2; exit 1;; esac
      mkdir -p "$(dirname "$out/$dest")" "$(dirname "$out/EFI/nixos/.extra-files/$dest")"
      cp -L "$src" "$out/$dest"
      : > "$out/EFI/nixos/.extra-files/$dest"
    done < "$extraFilesListPath"

    # boot.loader.systemd-boot.extraEntries, marked like extra files
    # (systemd-boot.nix copy-extra-files).
    i=0
    while IFS= read -r entry; do
      [ -n "$entry" ] || continue
      case "$entry" in */*|.*) echo "esp: extra entry name '$entry' must be a plain file name" >&2; exit 1;; esac
      src=extraEntry''${i}Path
      cp "''${!src}" "$out/loader/entries/$entry"
      mkdir -p "$out/EFI/nixos/.extra-files/loader/entries"
      : > "$out/EFI/nixos/.extra-files/loader/entries/$entry"
      i=$((i + 1))
    done <<< "$extraEntryNames"

    chmod -R u+w,go-w "$out"
  ''
