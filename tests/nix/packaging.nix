# The packaging pipeline on a tiny system: fake kernel/initrd/toplevel, an ESP
# with m1n1/boot.bin, a root tree (staged inside the image build), mkimage,
# carve-partitions + gen-installer-data, then checks of the result. Runs on
# any Linux (no aarch64, no VM).
# Used by the flake's checks.<system>.packaging-* (real nixpkgs) and by
# tests/nix/run.sh (through tests/nix/stand-in.nix) -- the same lib/ files.
{
  pkgs,
  fs ? "btrfs",
  sectorSize ? 512,
}:

let
  helpers = import ../../lib/helpers;
  b = (import ../../lib { }).withPkgs pkgs;
  inherit (pkgs) runCommand writeText;

  ids = {
    name = "nixos-asahi-test";
    version = "0.0.1";
    inherit fs;
  };
  base = helpers.packageBaseName ids;
  epoch = 1700000000;

  inherit
    (import ./tiny-system.nix {
      inherit runCommand;
      kernelFile = "Image";
    })
    kernel
    initrd
    toplevel
    ;

  # A device tree in a subdirectory, as hardware.deviceTree.name may be.
  dtbs = runCommand "dtbs-6.0.0-test" { } ''
    mkdir -p $out/apple
    printf 'not a dtb\n' > $out/apple/t8103-j274.dtb
  '';
  m1n1 = writeText "boot.bin" "m1n1 stage 2 stand-in\n";
  # Stands in for a nixosAsahi.extraEspFiles entry, which the module adds to
  # boot.loader.systemd-boot.extraFiles.
  extraEspFile = writeText "extra.txt" "an extra ESP file\n";
  systemdBoot = writeText "systemd-bootaa64.efi" "MZ stand-in systemd-boot\n";

  esp = b.mkEspTree {
    name = "${base}-esp";
    kernel = "${kernel}/Image";
    initrd = "${initrd}/initrd";
    inherit toplevel epoch;
    kernelParams = [
      "earlycon"
      "console=tty0"
    ];
    systemdBootEfi = systemdBoot;
    devicetree = "${dtbs}/apple/t8103-j274.dtb";
    label = helpers.bootLabel {
      distroName = "NixOS";
      codeName = "Test";
      label = "26.05.test";
      kernelModDirVersion = "6.0.0";
    };
    loaderConf = helpers.loaderConf { };
    extraFiles = {
      "m1n1/boot.bin" = m1n1;
      "asahi/extra.txt" = extraEspFile;
    };
  };

  # The starter flake.lock, pinned as nixosModules.default pins it.
  inherit (import ./fixture-locks.nix { lastModified = epoch; }) locks;

  rootArgs = {
    inherit fs toplevel epoch;
    etcNixos = import ../../lib/starter-config.nix (ids // { stateVersion = "26.05"; inherit locks; });
  };

  # The image stages the root tree itself (stageRoot); this store path holds
  # the same tree, for the checks of tests/nix/run.sh.
  root = b.mkRootTree (rootArgs // { name = "${base}-root"; });

  # /etc/nixos from a flake's own source (nixosAsahi.etcNixosSource), here
  # the template's directory, plus one file written over it.
  rootOwnFlake = b.mkRootTree {
    name = "${base}-root-own-flake";
    inherit fs toplevel epoch;
    etcNixosSource = ../../templates/default;
    etcNixos."local.nix" = "{ }\n";
  };

  image = b.mkDiskImage {
    name = "${base}-image";
    inherit epoch;
    layout = helpers.diskLayout {
      inherit fs sectorSize;
      seed = base;
      espSize = if sectorSize == 512 then "40MiB" else "300MiB";
      volumeId = helpers.volumeId ids;
      espSource = esp;
      rootSource = "root";
    };
    stageRoot = b.mkRootStaging rootArgs;
  };

  package = b.mkInstallerPackage {
    inherit image;
    inherit (ids) name version fs;
    packageUrlBase = "https://example.invalid/os";
  };

  expected = builtins.toJSON {
    zip = helpers.zipName ids;
    data = helpers.installerDataName ids;
    url = "https://example.invalid/os/${helpers.zipName ids}";
    volumeId = helpers.volumeId ids;
    kernelEfi = helpers.efiFileName "${kernel}/Image";
    initrdEfi = helpers.efiFileName "${initrd}/initrd";
    devicetreeEfi = helpers.efiFileName "${dtbs}/apple/t8103-j274.dtb";
    init = "${toplevel}/init";
  };

  verify =
    runCommand "${base}-verify"
      {
        nativeBuildInputs = [
          b.nixos-image-tools
          pkgs.unzip
          pkgs.python3
        ];
        inherit expected;
        passAsFile = [ "expected" ];
      }
      ''
        set -eu
        zip=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["zip"])' "$expectedPath")
        data=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"])' "$expectedPath")
        test -f ${image}/disk.img
        test -f ${image}/report.json
        gen-installer-data check "${package}/$data" --package "${package}/$zip"
        unzip -t "${package}/$zip"
        unzip -Z1 "${package}/$zip" > members
        python3 - "$expectedPath" members "${package}/$data" <<'PY'
        import json, sys
        exp = json.load(open(sys.argv[1]))
        members = open(sys.argv[2]).read().split("\n")
        data = json.load(open(sys.argv[3]))
        def need(cond, what):
            if not cond:
                sys.exit("verify: " + what)
        for m in ["esp/m1n1/boot.bin", "esp/EFI/BOOT/BOOTAA64.EFI",
                  "esp/EFI/systemd/systemd-bootaa64.efi", "esp/loader/loader.conf",
                  "esp/loader/entries/nixos-generation-1.conf",
                  "esp/" + exp["kernelEfi"], "esp/" + exp["initrdEfi"],
                  "esp/" + exp["devicetreeEfi"], "esp/asahi/extra.txt", "root.img"]:
            need(m in members, "zip lacks " + m)
        # Every directory entry comes before the files inside it.
        seen = set()
        for m in members:
            if not m:
                continue
            parent = m.rstrip("/").rpartition("/")[0]
            need(parent == "" or parent + "/" in seen, "directory of %s not listed before it" % m)
            seen.add(m if m.endswith("/") else m + "#")
        entries = data["os_list"]
        need(len(entries) == 1, "installer data should hold one entry")
        e = entries[0]
        need(e["package"] == exp["url"], "package url %r" % e["package"])
        esp = [p for p in e["partitions"] if p["type"] == "EFI"]
        need(len(esp) == 1 and esp[0].get("volume_id") == exp["volumeId"],
             "ESP volume_id %r" % esp)
        for p in e["partitions"]:
            need(isinstance(p["size"], str) and p["size"].endswith("B"), "size %r" % p["size"])
        PY
        unzip -p "${package}/$zip" esp/loader/entries/nixos-generation-1.conf > entry.conf
        cat entry.conf
        init=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["init"])' "$expectedPath")
        grep -qx "options init=$init earlycon console=tty0" entry.conf
        grep -qx 'title NixOS' entry.conf
        grep -qx 'sort-key nixos' entry.conf
        grep -qx 'version Generation 1 NixOS Test 26.05.test (Linux 6.0.0), built on 2023-11-14' entry.conf
        devicetree=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["devicetreeEfi"])' "$expectedPath")
        # systemd-boot-builder.py writes it last (after a machine-id line).
        test "$(tail -n 1 entry.conf)" = "devicetree /$devicetree"
        mkdir -p $out
        cp entry.conf members $out/
      '';
in
{
  inherit
    esp
    root
    rootOwnFlake
    image
    package
    verify
    ;
}
