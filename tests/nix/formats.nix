# The image formats of lib/formats/ built for real on a tiny stand-in system
# (fake kernel, initrd, toplevel, systemd-boot, extlinux builder), through
# lib/formats/build.nix as modules/image.nix calls it, then checked with
# sfdisk, mtools, debugfs and qemu-img. tests/nix/run.sh builds each twice
# (nix-build --check): two builds are the same bytes.
{
  pkgs,
  fs ? "ext4",
}:
let
  inherit (pkgs) runCommand writeText;
  epoch = 1700000000;
  inherit
    (import ./tiny-system.nix {
      inherit runCommand;
      kernelFile = "bzImage";
    })
    kernel
    initrd
    toplevel
    ;
  systemd = runCommand "systemd-test" { } ''
    mkdir -p $out/lib/systemd/boot/efi
    printf 'MZ stand-in systemd-boot\n' > $out/lib/systemd/boot/efi/systemd-bootx64.efi
  '';
  # Stands in for nixpkgs' extlinux-conf-builder.sh (populateCmd): -c
  # toplevel -d directory; writes extlinux/extlinux.conf and nixos/.
  extlinuxBuilder = writeText "extlinux-conf-builder.sh" ''
    while getopts "c:d:g:t:" o; do
      case $o in c) top=$OPTARG ;; d) dir=$OPTARG ;; *) ;; esac
    done
    mkdir -p "$dir/extlinux" "$dir/nixos"
    cp "$(readlink -f "$top/kernel")" "$dir/nixos/kernel"
    cp "$(readlink -f "$top/initrd")" "$dir/nixos/initrd"
    printf 'DEFAULT nixos-default\nLABEL nixos-default\n  LINUX ../nixos/kernel\n  INITRD ../nixos/initrd\n  APPEND init=%s/init\n' "$top" > "$dir/extlinux/extlinux.conf"
  '';

  config = format: {
    nixosImage = {
      inherit format epoch;
      name = "fmt-test";
      # sd-card roots are ext4 (its module asserts it).
      fsType = if format == "sd-card" then "ext4" else fs;
      sectorSize = 512;
      espSize = "40MiB";
      seed = "fmt-test-${format}";
      compress = format == "sd-card";
      extraStorePaths = [ ];
      etcNixos."configuration.nix" = "{ }\n";
      etcNixosSource = null;
      toolsPackage = pkgs.nixos-image-tools;
      sdCard = {
        populateFirmwareCommands = "printf 'arm_64bit=1\\n' > firmware/config.txt";
        firmwareSize = "34MiB";
      };
    };
    system = {
      build = {
        inherit toplevel;
        initialRamdisk = initrd;
      };
      boot.loader = {
        kernelFile = "bzImage";
        initrdFile = "initrd";
      };
      nixos = {
        distroName = "NixOS";
        codeName = "Test";
        label = "26.05.test";
      };
    };
    systemd.package = systemd;
    boot = {
      kernelPackages.kernel = kernel // {
        modDirVersion = "6.0.0";
      };
      kernelParams = [ "console=ttyS0" ];
      loader = {
        timeout = 5;
        systemd-boot = {
          sortKey = "nixos";
          editor = false;
          consoleMode = "keep";
          extraFiles = { };
          extraEntries = { };
        };
        generic-extlinux-compatible.populateCmd = "bash ${extlinuxBuilder} -g 20 -t 5";
      };
    };
  };
  image = format: import ../../lib/formats/build.nix {
    config = config format;
    inherit pkgs;
  };
  raw-efi = image "raw-efi";
  sd-card = image "sd-card";
  qcow2 = image "qcow2";

  verify =
    runCommand "formats-verify-${fs}"
      {
        nativeBuildInputs = [
          pkgs.qemu-utils
          pkgs.zstd
        ];
      }
      ''
        set -eu
        export MTOOLS_SKIP_CHECK=1
        fail() { echo "verify: $*" >&2; exit 1; }
        part() { # image n -> offset size (bytes)
          sfdisk --json "$1" | python3 -c 'import json,sys; p = json.load(sys.stdin)["partitiontable"]["partitions"][int(sys.argv[1]) - 1]; print(p["start"] * 512, p["size"] * 512)' "$2"
        }
        cut_out() { # image n file
          read -r off size < <(part "$1" "$2")
          dd if="$1" of="$3" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$size" status=none
        }

        # raw-efi: GPT, ESP with systemd-boot as BOOTX64.EFI and entry 1.
        img=${raw-efi}/disk.img
        sfdisk --json "$img" | grep -q '"label": "gpt"' || fail "raw-efi: not GPT"
        cut_out "$img" 1 esp.img
        mtype -i esp.img ::/EFI/BOOT/BOOTX64.EFI | grep -q 'stand-in systemd-boot' || fail "raw-efi: no BOOTX64.EFI"
        mtype -i esp.img ::/loader/entries/nixos-generation-1.conf | grep -q "init=${toplevel}/init" || fail "raw-efi: no entry"
        cut_out "$img" 2 root.img
        if [ ${fs} = ext4 ]; then
          debugfs -R 'stat /nix-path-registration' root.img 2>/dev/null | grep -q 'Type: regular' || fail "raw-efi: no /nix-path-registration"
        fi

        # sd-card: zstd; MBR; FIRMWARE holds the firmware files; the root
        # holds /boot/extlinux/extlinux.conf from the extlinux builder.
        zstd -q -d ${sd-card}/disk.img.zst -o sd.img
        sfdisk --json sd.img | grep -q '"label": "dos"' || fail "sd-card: not MBR"
        cut_out sd.img 1 fw.img
        mtype -i fw.img ::/config.txt | grep -q arm_64bit || fail "sd-card: no config.txt"
        cut_out sd.img 2 sdroot.img
        debugfs -R 'cat /boot/extlinux/extlinux.conf' sdroot.img 2>/dev/null | grep -q "APPEND init=${toplevel}/init" ||
          fail "sd-card: no /boot/extlinux/extlinux.conf"
        debugfs -R 'stat /nix-path-registration' sdroot.img 2>/dev/null | grep -q 'Type: regular' || fail "sd-card: no /nix-path-registration"

        # qcow2: the raw-efi disk, converted.
        qemu-img info ${qcow2}/disk.qcow2 | grep -q 'file format: qcow2' || fail "qcow2: not qcow2"
        qemu-img compare -f qcow2 -F raw ${qcow2}/disk.qcow2 ${qcow2.image}/disk.img || fail "qcow2: not the raw-efi disk"
        mkdir -p $out
        echo ok > $out/ok
      '';
in
{
  inherit
    raw-efi
    sd-card
    qcow2
    verify
    ;
}
