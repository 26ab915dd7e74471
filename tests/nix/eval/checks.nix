# The evaluation harness's checks (tests/nix/eval/run.sh runs each one as
# `nix-instantiate --eval --strict -A <name>` with import-from-derivation
# off). A check is a value that evaluates to true, or throws saying what is
# wrong. `expectFailure.<name>` must fail to evaluate (run.sh inverts them).
#
#   vendor   the vendored nixpkgs lib and nixos-apple-silicon (shared/vendor)
#   starter  a directory holding the starter /etc/nixos of the btrfs and
#            ext4 images (<fs>/flake.nix ...), written by run.sh from
#            `etcNixos` below, or null before it exists
{
  vendor,
  starter ? null,
}:
let
  inp = import ./inputs.nix { vendor = /. + vendor; };
  inherit (inp) lib nixpkgs nixos-image-tools;
  tools = nixos-image-tools;
  helpers = import ../../../lib/helpers;
  fsTypes = [
    "btrfs"
    "ext4"
  ];

  need = cond: what: if cond then true else throw what;
  all = checks: builtins.all (c: c) checks;

  # No failed assertion and no warning, then the system itself (top-level
  # checks both again), the image and the package derivations.
  clean =
    what: sys:
    let
      failed = map (a: a.message) (builtins.filter (a: !a.assertion) sys.config.assertions);
    in
    all [
      (need (failed == [ ]) "${what}: failed assertions: ${builtins.concatStringsSep "; " failed}")
      (need (sys.config.warnings == [ ]) "${what}: warnings: ${builtins.concatStringsSep "; " sys.config.warnings}")
      (need (builtins.isString sys.config.system.build.toplevel.drvPath) "${what}: no toplevel")
      (need (sys.config.boot.postBootCommands == "") "${what}: boot.postBootCommands is set (nixos-init refuses it)")
      (imageArgs what sys)
    ];

  # What the image derivation is handed: the layout mkimage reads, the ESP
  # tree, and no system feature a VM would need.
  imageArgs =
    what: sys:
    let
      b = sys.config.system.build;
      cfg = sys.config.nixosAsahi;
      env = b.asahiImage.fixture.env;
      layout = builtins.fromJSON (builtins.unsafeDiscardStringContext env.layoutJSON);
      esp = builtins.elemAt layout.partitions 0;
      root = builtins.elemAt layout.partitions 1;
    in
    all [
      (need (b.asahiImage.fixture.builder == "runCommand") "${what}: the image is not a runCommand")
      (need (!(builtins.elem "kvm" (env.requiredSystemFeatures or [ ]))) "${what}: the image needs kvm")
      (need (layout.table == "gpt" && layout.sectorSize == cfg.sectorSize) "${what}: layout table/sector size")
      (need (
        esp.content.fs == "vfat" && esp.content.source == "${b.asahiEspTree}" && esp.content.volumeId == cfg.volumeId
      ) "${what}: the ESP partition is not the ESP tree with the volume id")
      (need (root.content.fs == cfg.fsType && root.content.source == "root" && root.content.label == "nixos") "${what}: the root partition")
      (need (
        (cfg.fsType == "btrfs") == (root.content ? subvolumes)
      ) "${what}: subvolumes only for btrfs")
      (need (builtins.isString b.asahiPackage.drvPath) "${what}: no package")
      (need (b.asahiPackage.fixture.builder == "runCommand") "${what}: the package is not a runCommand")
    ];

  flakeSys = fs: tools.nixosConfigurations."nixos-asahi-${fs}";

  template = inp.callFlake ../../../templates/default { } {
    inherit nixpkgs;
    nixos-image-tools = tools;
  };
  # The template's configuration, with the other filesystem where asked.
  downstream =
    fs:
    template.nixosConfigurations.mac.extendModules {
      modules = [ { nixosAsahi.fsType = lib.mkForce fs; } ];
    };

  starterSys =
    fs: variant:
    (inp.callFlake (/. + "${starter}/${fs}-${variant}") { } {
      inherit nixpkgs;
      inherit (inp) nixos-apple-silicon;
      nixos-image-tools = tools;
    }).nixosConfigurations.nixos;

  perFs = f: lib.listToAttrs (map (fs: lib.nameValuePair fs (f fs)) fsTypes);
  # { a = ...; } for each fs -> { a-btrfs = ...; a-ext4 = ...; }
  eachFs =
    f:
    lib.foldl' (acc: fs: acc // lib.mapAttrs' (n: v: lib.nameValuePair "${n}-${fs}" v) (f fs)) { } fsTypes;
  mounts = sys: {
    root = sys.config.fileSystems."/".device;
    boot = sys.config.fileSystems."/boot".device;
  };
in
{
  # docs/options.md as lib/options-doc.nix renders it.
  optionsDoc = import ../../../lib/options-doc.nix {
    inherit lib;
    options = (flakeSys "btrfs").options.nixosAsahi;
  };

  # What run.sh writes as the starter /etc/nixos: { btrfs = { "flake.nix" = ...; }; ext4 = ...; }
  etcNixos = perFs (fs: (flakeSys fs).config.nixosAsahi.etcNixos);

  flake-outputs = all [
    (need (
      builtins.attrNames tools.packages.aarch64-linux == [
        "default"
        "nixos-asahi-btrfs"
        "nixos-asahi-ext4"
        "nixos-asahi-image-btrfs"
        "nixos-asahi-image-ext4"
        "nixos-image-tools"
      ]
    ) "packages.aarch64-linux")
    (need (builtins.all (p: builtins.isString p.drvPath) (
      builtins.attrValues tools.packages.aarch64-linux
    )) "packages.aarch64-linux drvPaths")
    (need (builtins.isString tools.packages.x86_64-linux.default.drvPath) "packages.x86_64-linux.default")
    (need (
      builtins.all (c: builtins.isString c.drvPath) (builtins.attrValues tools.checks.x86_64-linux)
    ) "checks.x86_64-linux drvPaths")
    # A bare `nix fmt` formats the tree: nixfmt-tree, not nixfmt.
    (need (tools.formatter.x86_64-linux.pname or tools.formatter.x86_64-linux.name == "nixfmt-tree") "formatter is not nixfmt-tree")
  ];
}
// eachFs (fs: {
  # The flake's own systems, as `nix build .#nixos-asahi-<fs>` evaluates them.
  flake = clean "nixosConfigurations.nixos-asahi-${fs}" (flakeSys fs);

  # The root's mount options: only btrfs has any of ours (a [ ] definition
  # would fail fileSystems' nonEmptyListOf).
  root-options =
    let
      o = (flakeSys fs).config.fileSystems."/".options;
    in
    need (
      (fs == "btrfs") == builtins.elem "subvol=@" o && !(fs == "ext4" && builtins.any (lib.hasPrefix "subvol=") o)
    ) "fileSystems./.options = ${builtins.toJSON o}";

  # The template's configuration (the way README and template build it).
  downstream = clean "template mac (${fs})" (downstream fs);

  # lib.mkAsahiPackage / mkAsahiImage / asahiSystem on that configuration,
  # which imports nixosModules.default already, with and without settings.
  mkAsahiPackage =
    let
      args = {
        nixosConfiguration = downstream fs;
      };
      withSettings = args // {
        settings = {
          version = "1.0.1";
          sectorSize = 512;
        };
      };
      s = tools.lib.asahiSystem withSettings;
    in
    all [
      (need (builtins.isString (tools.lib.mkAsahiPackage args).drvPath) "mkAsahiPackage")
      (need (builtins.isString (tools.lib.mkAsahiImage args).drvPath) "mkAsahiImage")
      (clean "asahiSystem with settings (${fs})" s)
      (need (s.config.nixosAsahi.version == "1.0.1") "settings.version")
      (need (builtins.isString (tools.lib.mkAsahiPackage withSettings).drvPath) "mkAsahiPackage with settings")
      (clean "asahiSystem without settings (${fs})" (tools.lib.asahiSystem args))
    ];

  # nixosModules.default imported by the configuration and again by
  # asahiSystem counts once (starterFlake.locks is a raw option).
  module-twice =
    let
      s = tools.lib.asahiSystem { nixosConfiguration = downstream fs; };
    in
    need (builtins.isAttrs (builtins.deepSeq s.config.nixosAsahi.starterFlake.locks s.config.nixosAsahi.starterFlake.locks)) "locks";

  # The image's /etc/nixos, as the Mac evaluates it before and after first
  # boot recorded the partitions, and after the user bumped the version.
  starter = clean "starter /etc/nixos (${fs})" (starterSys fs "fresh");
  starter-recorded =
    let
      fresh = mounts (starterSys fs "fresh");
      recorded = mounts (starterSys fs "recorded");
      bumped = mounts (starterSys fs "recorded-bumped");
    in
    all [
      (clean "starter with installation.nix (${fs})" (starterSys fs "recorded-bumped"))
      (need (fresh.boot == "/dev/disk/by-uuid/${helpers.espUuid {
        name = "nixos-asahi";
        version = helpers.crateVersion ../../..;
        inherit fs;
      }}") "fresh /boot: ${fresh.boot}")
      (need (recorded.boot == "/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000006") "recorded /boot: ${recorded.boot}")
      (need (recorded.root == "/dev/disk/by-partuuid/aaaaaaaa-0000-4000-8000-000000000007") "recorded /: ${recorded.root}")
      (need (bumped == recorded) "a bumped version moved the mounts: ${builtins.toJSON bumped}")
    ];

  # Scripted stage 2 is not the only init: nixos-init refuses
  # boot.postBootCommands; first boot must still be there, as units.
  nixos-init =
    let
      s = (flakeSys fs).extendModules {
        modules = [
          {
            system.nixos-init.enable = true;
            boot.initrd.systemd.enable = true;
            system.etc.overlay.enable = true;
            services.userborn.enable = true;
          }
        ];
      };
      units = s.config.systemd.services;
    in
    all [
      (clean "nixos-init (${fs})" s)
      (need (
        units ? nixos-asahi-register-store && units ? nixos-asahi-record-installation && units ? nixos-asahi-first-boot
      ) "first-boot units missing")
      (need ((fs == "btrfs") == (units ? nixos-asahi-grow-root)) "grow-root only for btrfs")
      (need (s.config.fileSystems."/".autoResize == (fs == "ext4")) "ext4 grows in stage 1 (autoResize)")
    ];
})
// {
  # nixos-apple-silicon warns unless hardware.asahi.enable is set
  # explicitly: a configuration that only enables the image must not.
  asahi-enable =
    let
      s = inp.nixosSystem {
        modules = [
          tools.nixosModules.default
          {
            nixpkgs.hostPlatform = "aarch64-linux";
            nixosAsahi.enable = true;
            system.stateVersion = "26.05";
          }
        ];
      };
    in
    all [
      (clean "a configuration that only sets nixosAsahi.enable" s)
      (need s.config.hardware.asahi.enable "hardware.asahi.enable is off")
      (need (s.options.hardware.asahi.enable.highestPrio < (lib.mkOptionDefault { }).priority) "hardware.asahi.enable is left to its default")
      (need (s.config.boot.loader.systemd-boot.extraFiles ? "m1n1/boot.bin") "no m1n1/boot.bin")
    ];

  # The starter flake.lock pins nixpkgs and nixos-apple-silicon, not this
  # flake's own (maybe unpushed) revision.
  starter-lock =
    let
      files = (flakeSys "btrfs").config.nixosAsahi.etcNixos;
      lock = builtins.fromJSON files."flake.lock";
    in
    all [
      (need (lock.nodes ? nixpkgs && lock.nodes ? nixos-apple-silicon) "flake.lock lacks nixpkgs/nixos-apple-silicon")
      (need (!(lock.nodes ? nixos-image-tools)) "flake.lock pins nixos-image-tools")
      (need (lib.hasInfix "github:nix-community/nixos-image-tools/v${helpers.crateVersion ../../..}" files."flake.nix") "the starter flake does not name the release tag")
    ];

  # A unit with systemd's default dependencies runs after basic.target: it
  # cannot also be ordered before anything basic.target waits for.
  unit-order =
    let
      units = lib.filterAttrs (n: _: lib.hasPrefix "nixos-asahi-" n) (flakeSys "btrfs").config.systemd.services;
      early = [
        "sysinit.target"
        "sockets.target"
        "basic.target"
        "local-fs.target"
        "nix-daemon.socket"
        "systemd-udev-trigger.service"
      ];
      bad = lib.filterAttrs (
        _: u: (u.unitConfig.DefaultDependencies or true) && builtins.any (b: builtins.elem b early) u.before
      ) units;
    in
    all [
      (need (builtins.length (builtins.attrNames units) >= 4) "first-boot units missing")
      (need (bad == { }) "ordering cycle: ${builtins.concatStringsSep ", " (builtins.attrNames bad)} keep default dependencies but run before ${builtins.concatStringsSep "/" early}")
    ];

  # A flake's source is a store path, not a package.
  extra-store-paths =
    let
      s = (flakeSys "ext4").extendModules {
        modules = [ { nixosAsahi.extraStorePaths = [ "${builtins.storeDir}/0a8q3ncjdx3xjfkc6g8mx2r3h1mhl2sn-source" ]; } ];
      };
    in
    clean "extraStorePaths with a flake source" s;

  # extraEntries reach the ESP; what the ESP builder cannot do is refused.
  esp-entries =
    let
      with' = m: (flakeSys "btrfs").extendModules { modules = [ m ]; };
      s = with' { boot.loader.systemd-boot.extraEntries."memtest.conf" = "title Memtest\n"; };
      failedWith = m: map (a: a.message) (builtins.filter (a: !a.assertion) (with' m).config.assertions);
    in
    all [
      (need (
        s.config.system.build.asahiEspTree.fixture.env.extraEntryNames == "memtest.conf"
      ) "extraEntries not passed to the ESP tree")
      (need (
        builtins.length (failedWith { specialisation.other.configuration = { }; }) == 1
      ) "a specialisation is not refused")
      (need (
        builtins.length (failedWith { boot.loader.systemd-boot.extraEfiDrivers."x.efi" = ./checks.nix; }) == 1
      ) "extraEfiDrivers are not refused")
      (need (
        builtins.length (failedWith { hardware.asahi.enable = lib.mkForce false; }) == 1
      ) "an image without m1n1/boot.bin is not refused")
    ];

  options-doc-current = need (
    builtins.readFile ../../../docs/options.md == (import ../../../lib/options-doc.nix {
      inherit lib;
      options = (flakeSys "btrfs").options.nixosAsahi;
    })
  ) "docs/options.md is out of date: run tools/update-options-doc.sh";

  # Option documentation: every default shown is a literal (literalExpression
  # or literalMD), not a plain string.
  option-docs =
    let
      opts = lib.collect lib.isOption (flakeSys "btrfs").options.nixosAsahi;
      bad = builtins.filter (o: o ? defaultText && !(o.defaultText ? _type)) opts;
    in
    need (bad == [ ]) "plain-string defaultText: ${builtins.concatStringsSep ", " (map lib.showOption (map (o: o.loc) bad))}";

  # The entry options reach gen-installer-data.
  entry-options =
    let
      s = (flakeSys "btrfs").extendModules {
        modules = [
          {
            nixosAsahi.defaultOsName = "My NixOS";
            nixosAsahi.supportedFirmware = [
              "12.3"
              "13.5"
            ];
            nixosAsahi.icon = "esp/asahi/nixos.icns";
          }
        ];
      };
      script = s.config.system.build.asahiPackage.fixture.script;
    in
    need (
      lib.hasInfix "'--default-os-name' 'My NixOS'" script
      && lib.hasInfix "'--supported-fw' '12.3,13.5'" script
      && lib.hasInfix "'--icon' 'esp/asahi/nixos.icns'" script
    ) "entry options not passed: ${script}";

  # lib.mkImage for each format on a small configuration: the layout
  # mkimage is handed, the boot files asked for, the mounts and first-boot
  # units, no kvm (no VM); all with import-from-derivation off.
  formats =
    let
      small =
        system:
        inp.nixosSystem {
          modules = [
            {
              nixpkgs.hostPlatform = system;
              networking.hostName = "small";
              system.stateVersion = "26.05";
            }
          ];
        };
      sysOf =
        system: format: settings:
        tools.lib.imageSystem {
          nixosConfiguration = small system;
          inherit format settings;
        };
      # Store paths as text: hasInfix refuses a pattern with string context.
      has = infix: text: lib.hasInfix (builtins.unsafeDiscardStringContext infix) (builtins.unsafeDiscardStringContext text);
      layoutOf = disk: builtins.fromJSON (builtins.unsafeDiscardStringContext disk.fixture.env.layoutJSON);
      noKvm = what: drv: need (!(builtins.elem "kvm" (drv.fixture.env.requiredSystemFeatures or [ ]))) "${what}: needs kvm";
      generic =
        what: s:
        let
          u = s.config.systemd.services;
          failed = map (a: a.message) (builtins.filter (a: !a.assertion) s.config.assertions);
        in
        all [
          (need (failed == [ ] && s.config.warnings == [ ]) "${what}: assertions/warnings: ${builtins.toJSON (failed ++ s.config.warnings)}")
          (need (s.config.boot.postBootCommands == "") "${what}: boot.postBootCommands is set")
          (need (u ? nixos-asahi-register-store && u ? nixos-asahi-first-boot) "${what}: no first-boot units")
          (need (!(u ? nixos-asahi-vendor-firmware) && !(u ? nixos-asahi-record-installation)) "${what}: Asahi-only units")
          (need (s.config.boot.growPartition && s.config.fileSystems."/".autoResize) "${what}: the root does not grow")
          (need (!(lib.hasInfix "passwd" u.nixos-asahi-first-boot.script)) "${what}: a password prompt holds back SSH logins")
        ];
      efi =
        system: bootName: fs: ss:
        let
          what = "raw-efi ${system} ${fs} ${toString ss}";
          s = sysOf system "raw-efi" {
            fsType = fs;
            sectorSize = ss;
          };
          img = s.config.system.build.image;
          l = layoutOf img;
          esp = builtins.elemAt l.partitions 0;
          root = builtins.elemAt l.partitions 1;
        in
        all [
          (generic what s)
          (noKvm what img)
          (need (img.fixture.builder == "runCommand") "${what}: the image is not a runCommand")
          (need (l.table == "gpt" && l.sectorSize == ss) "${what}: table/sector size")
          (need (
            esp.type == "esp" && esp.content.fs == "vfat" && esp.content.source == "${img.espTree}"
          ) "${what}: the ESP is not the ESP tree")
          (need (img.espTree.fixture.env.bootName == bootName) "${what}: ${img.espTree.fixture.env.bootName}")
          (need (lib.hasSuffix "systemd-boot${lib.toLower (lib.removePrefix "BOOT" (lib.removeSuffix ".EFI" bootName))}.efi" img.espTree.fixture.env.systemdBootEfi) "${what}: systemd-boot binary")
          (need (
            root.content.fs == fs && root.content.source == "root" && root.content.label == "nixos" && (fs == "btrfs") == (root.content ? subvolumes)
          ) "${what}: root")
          (need (
            s.config.fileSystems."/boot".device == "/dev/disk/by-uuid/${helpers.espUuidOf esp.content.volumeId}"
          ) "${what}: /boot is not mounted by the ESP's volume id")
          (need (s.config.fileSystems."/".device == "/dev/disk/by-label/nixos") "${what}: / by label")
          (need s.config.boot.loader.systemd-boot.enable "${what}: no systemd-boot")
        ];
      sd =
        let
          what = "sd-card";
          s = sysOf "aarch64-linux" "sd-card" { };
          img = s.config.system.build.image;
          l = layoutOf img.image;
          fw = builtins.elemAt l.partitions 0;
          root = builtins.elemAt l.partitions 1;
          populate = s.config.boot.loader.generic-extlinux-compatible.populateCmd;
        in
        all [
          (generic what s)
          (noKvm what img.image)
          (need (has "zstd" img.fixture.script && has "disk.img.zst" img.fixture.script) "${what}: not zstd-compressed")
          (need (l.table == "mbr" && l.sectorSize == 512 && l.mbrSignature == "0x2178694e") "${what}: table")
          (need (
            fw.start == "8MiB" && fw.type == "fat32-chs" && !(fw.bootable or false) && fw.content.label == "FIRMWARE" && fw.content.fs == "vfat"
          ) "${what}: firmware partition ${builtins.toJSON fw}")
          (need (fw.content.source == "${img.firmwareTree}") "${what}: firmware tree")
          (need (
            root.bootable && root.type == "linux" && root.content.label == "NIXOS_SD" && root.content.fs == "ext4"
          ) "${what}: root partition ${builtins.toJSON root}")
          (need (
            has "${populate} -c ${s.config.system.build.toplevel}" img.bootTree.fixture.script
          ) "${what}: /boot not written by the configuration's extlinux builder")
          (need (has "${img.bootTree}" img.image.fixture.env.rootExtraTrees) "${what}: /boot not staged into the root")
          (need (s.config.fileSystems."/".device == "/dev/disk/by-label/NIXOS_SD") "${what}: / by label")
          (need (!s.config.boot.loader.systemd-boot.enable) "${what}: systemd-boot")
        ];
      qcow2 =
        let
          s = sysOf "x86_64-linux" "qcow2" { compress = true; };
          img = s.config.system.build.image;
        in
        all [
          (generic "qcow2" s)
          (noKvm "qcow2" img)
          (noKvm "qcow2 raw" img.image)
          (need (has "qemu-img convert -f raw -O qcow2 -c ${img.image}/disk.img" img.fixture.script) "qcow2: conversion ${img.fixture.script}")
          (need (img.image.espTree.fixture.env.bootName == "BOOTX64.EFI") "qcow2: the raw-efi disk")
        ];
      asahi =
        let
          args = {
            nixosConfiguration = downstream "btrfs";
          };
        in
        need (
          (tools.lib.mkImage (args // { format = "asahi"; })).drvPath == (tools.lib.mkAsahiPackage args).drvPath
        ) "mkImage asahi is not mkAsahiPackage";
    in
    all [
      (efi "x86_64-linux" "BOOTX64.EFI" "ext4" 512)
      (efi "x86_64-linux" "BOOTX64.EFI" "btrfs" 4096)
      (efi "aarch64-linux" "BOOTAA64.EFI" "ext4" 4096)
      (efi "aarch64-linux" "BOOTAA64.EFI" "btrfs" 512)
      sd
      qcow2
      asahi
    ];

  # The per-use templates, as a user copies them: their packages evaluate
  # to the images of their formats.
  templates =
    let
      flakeOf =
        dir:
        inp.callFlake dir { } {
          inherit nixpkgs;
          nixos-image-tools = tools;
        };
      pi = flakeOf ../../../templates/raspberry-pi;
      server = flakeOf ../../../templates/raw-efi;
      piImage = pi.packages.aarch64-linux.pi;
      fw = piImage.firmwareTree.fixture.script;
    in
    all [
      (need (builtins.isString piImage.drvPath) "raspberry-pi: no image")
      (need (lib.hasInfix "u-boot-rpi4.bin" fw && lib.hasInfix "config.txt" fw) "raspberry-pi: firmware commands not used")
      (need (pi.nixosConfigurations.pi.config.nixosImage.etcNixosSource != null) "raspberry-pi: no /etc/nixos flake")
      (need (builtins.isString server.packages.x86_64-linux.server.drvPath) "raw-efi: no image")
      (need (
        server.packages.x86_64-linux.server.espTree.fixture.env.bootName == "BOOTX64.EFI"
      ) "raw-efi: not BOOTX64.EFI")
      (need (builtins.isString server.packages.x86_64-linux.server-qcow2.drvPath) "raw-efi: no qcow2")
      (need (
        builtins.attrNames tools.templates == [
          "default"
          "raspberry-pi"
          "raw-efi"
        ]
      ) "flake templates")
    ];

  expectFailure = {
    # The fixture is no sink: an undeclared option is an error.
    undeclared-option = (flakeSys "btrfs").extendModules { modules = [ { nixosAsahi.noSuchOption = 1; } ]; };
    # fileSystems' options are nonEmptyListOf nonEmptyStr, as in nixpkgs.
    # A format that does not exist.
    unknown-format = (tools.lib.mkImage {
      nixosConfiguration = downstream "ext4";
      format = "iso";
    }).drvPath;
    empty-mount-options =
      ((flakeSys "ext4").extendModules { modules = [ { fileSystems."/".options = [ ]; } ]; })
      .config.fileSystems."/".options;
  };
}
