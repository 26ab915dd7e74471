# The Asahi installer image of a NixOS configuration, as options. With
# `nixosAsahi.enable` the system mounts / by label and /boot by the ESP
# volume id the installer entry carries (by partition UUID once first boot
# recorded them), boots with systemd-boot, finishes its installation on
# first boot (./first-boot.nix), and exposes:
#   system.build.asahiEspTree, asahiRootTree, asahiImage (disk.img + report),
#   asahiPackage ($out/<name>-<version>-<fs>.zip, installer_data-<version>-<fs>.json).
# It does not import the Apple Silicon support module itself (the flake's
# nixosModules.default does), so it also evaluates without it.
{
  config,
  options,
  lib,
  pkgs,
  ...
}:

let
  helpers = import ../lib/helpers;
  cfg = config.nixosAsahi;
  inherit (lib) mkOption mkIf types;
  ids = {
    inherit (cfg) name version;
    fs = cfg.fsType;
  };
  haveAsahiModule = options ? hardware && options.hardware ? asahi;
  sdb = config.boot.loader.systemd-boot;
  built = import ../lib/from-nixos.nix {
    inherit config;
    inherit (pkgs) buildPackages;
    nixos-image-tools = cfg.toolsPackage;
  };
  guid = types.strMatching "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
  inst = cfg.installation;
  rootDevice =
    if inst.rootPartUuid != null then
      "/dev/disk/by-partuuid/${inst.rootPartUuid}"
    else
      "/dev/disk/by-label/${helpers.rootLabel}";
  espDevice =
    if inst.espPartUuid != null then
      "/dev/disk/by-partuuid/${inst.espPartUuid}"
    else
      "/dev/disk/by-uuid/${helpers.espUuidOf cfg.volumeId}";
in
{
  imports = [ ./first-boot.nix ];

  options.nixosAsahi = import ./shared-options.nix { inherit lib pkgs; } // {
    enable = lib.mkEnableOption "the Asahi installer image layout (mounts, boot loader, first boot) and system.build.asahiImage / asahiPackage";
    fsType = mkOption {
      type = types.enum helpers.fsTypes;
      default = "btrfs";
      description = "Root filesystem. btrfs uses subvolumes @ (/), @home and @nix.";
    };
    name = mkOption {
      type = types.str;
      default = "nixos-asahi";
      description = "Package name: the zip is <name>-<version>-<fsType>.zip. With version and fsType it derives the ESP volume id.";
    };
    version = mkOption {
      type = types.str;
      default = helpers.crateVersion ../.;
      defaultText = lib.literalMD "this project's version (`Cargo.toml`)";
      description = "Package version (a new version gives a new ESP volume id and a new, immutable URL).";
    };
    displayName = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Menu text in the installer; null lets gen-installer-data choose (<defaultOsName> (<name>-<version>-<fs>)).";
    };
    defaultOsName = mkOption {
      type = types.str;
      default = "NixOS";
      description = "The installer entry's default OS name (the volume names the installer gives).";
    };
    supportedFirmware = mkOption {
      type = types.nullOr (types.listOf (types.enum helpers.installerFirmware));
      default = null;
      example = [
        "12.3"
        "12.3.1"
        "13.5"
      ];
      description = "The entry's supported_fw; null lets gen-installer-data choose (12.3, 12.3.1, 13.5).";
    };
    icon = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "esp/asahi/nixos.icns";
      description = "A zip member (an .icns put on the ESP, e.g. with extraEspFiles) the installer shows as the OS icon.";
    };
    packageUrlBase = mkOption {
      type = types.nullOr types.str;
      default = null;
      example = "https://example.org/nixos-asahi/os";
      description = "URL directory the zip is served from; null writes the bare zip name (resolved by the installer as $REPO_BASE/os/<zip>).";
    };
    espSize = mkOption {
      type = types.str;
      default = "512MiB";
      description = "ESP size in the disk image and in the installer entry.";
    };
    sectorSize = mkOption {
      type = types.enum [
        512
        4096
      ];
      default = 4096;
      description = "Logical sector size of the disk image (Apple's NVMe uses 4096).";
    };
    seed = mkOption {
      type = types.str;
      default = helpers.packageBaseName ids;
      defaultText = lib.literalExpression ''"''${name}-''${version}-''${fsType}"'';
      description = "Seed of the image's GUIDs and filesystem UUIDs.";
    };
    efiArch = mkOption {
      type = types.str;
      default = "aa64";
      description = "EFI architecture suffix of systemd-boot (BOOTAA64.EFI).";
    };
    extraEspFiles = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = lib.literalExpression ''{ "asahi/logo.png" = ./logo.png; }'';
      description = ''
        More files for the ESP, by destination path. They are added to
        boot.loader.systemd-boot.extraFiles, so the image carries them and
        every `nixos-rebuild` of a configuration that sets them installs them
        again (NixOS deletes the ESP files it marked as extra files and then
        copies the current boot.loader.systemd-boot.extraFiles). A rebuild
        from a configuration without them removes them. Sources must be
        paths Nix can copy to the store (path literals or derivations).
      '';
    };
    etcNixosSource = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "self.outPath # in your flake.nix: your flake's own source";
      description = ''
        A directory copied as /etc/nixos, e.g. the source of the flake that
        defines this configuration, so that the Mac rebuilds from your own
        flake (and its flake.lock, if committed) rather than from the
        generic starter flake. The files of `etcNixos` are written on top.
      '';
    };
    etcNixos = mkOption {
      type = types.attrsOf types.str;
      default =
        if cfg.etcNixosSource != null then
          { }
        else
          import ../lib/starter-config.nix {
            inherit (cfg) name version;
            fs = cfg.fsType;
            inherit (cfg.starterFlake)
              nixpkgsUrl
              appleSiliconUrl
              toolsFlakeUrl
              locks
              ;
            inherit (config.networking) hostName;
            stateVersion = config.system.stateVersion;
          };
      defaultText = lib.literalMD "with `etcNixosSource` unset, a starter flake importing this project's module, with a `flake.lock` (`lib/starter-config.nix`); else nothing";
      description = "Files of /etc/nixos in the image, by name (plain names, no directories).";
    };
    starterFlake = {
      nixpkgsUrl = mkOption {
        type = types.str;
        default = "github:NixOS/nixpkgs/nixos-unstable";
        description = "The starter /etc/nixos flake's nixpkgs input.";
      };
      appleSiliconUrl = mkOption {
        type = types.str;
        default = "github:nix-community/nixos-apple-silicon";
        description = "The starter /etc/nixos flake's nixos-apple-silicon input (nixos-image-tools follows it).";
      };
      toolsFlakeUrl = mkOption {
        type = types.str;
        default = "github:nix-community/nixos-image-tools/v${helpers.crateVersion ../.}";
        defaultText = lib.literalMD "this project's release tag: `github:nix-community/nixos-image-tools/v<version>`";
        description = ''
          The starter /etc/nixos flake's nixos-image-tools input. A published
          release tag by default, never the revision the image was built
          from, which may be unpushed or in a fork the Mac cannot fetch.
        '';
      };
      locks = mkOption {
        type = types.attrsOf (types.nullOr types.raw);
        default = { };
        defaultText = lib.literalMD "from `nixosModules.default`: the `nixpkgs` and `nixos-apple-silicon` inputs this flake was evaluated with";
        description = ''
          What the starter flake.lock pins the inputs `nixpkgs`,
          `nixos-apple-silicon` and `nixos-image-tools` to: each null or
          `nixos-image-tools.lib.inputLock <flake input>` (rev, narHash,
          lastModified, the input's own flake.lock). This flake's
          nixosModules.default sets nixpkgs and nixos-apple-silicon from the
          inputs it was evaluated with, so the Mac rebuilds with exactly
          those. Inputs left out, null (e.g. a dirty tree without a rev) or
          with URLs other than `github:owner/repo[/ref]` are locked by Nix on
          first use.
        '';
      };
    };
    installation = {
      espPartUuid = mkOption {
        type = types.nullOr guid;
        default = null;
        example = "1f2e3d4c-0000-4000-8000-0123456789ab";
        description = ''
          The partition UUID of this installation's ESP. First boot writes
          it to /etc/nixos/installation.nix (which the starter and template
          configurations import); /boot is then mounted by it instead of by
          the volume id derived from name, version and fsType.
        '';
      };
      rootPartUuid = mkOption {
        type = types.nullOr guid;
        default = null;
        description = "The partition UUID of this installation's root; / (and its subvolumes) are then mounted by it instead of by the label.";
      };
    };
    loadVendorFirmware = mkOption {
      type = types.bool;
      default = !(haveAsahiModule && config.hardware.asahi.extractPeripheralFirmware);
      defaultText = lib.literalMD "`true` unless the Apple Silicon module builds the firmware into the system";
      description = "At each boot, unpack the Mac's firmware (vendorfw/firmware.cpio, put on the ESP by the installer) into /lib/firmware.";
    };
    firstBootPassword = mkOption {
      type = types.bool;
      default = config.users.mutableUsers;
      defaultText = lib.literalExpression "config.users.mutableUsers";
      description = "On first boot, ask on tty1 for root's password before any login prompt (the image ships no password hash).";
    };
    volumeId = mkOption {
      type = types.str;
      readOnly = true;
      default = helpers.volumeId ids;
      defaultText = lib.literalMD "derived from `<name>-<version>-<fsType>`";
      description = "The ESP's FAT volume id.";
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          {
            assertion = config.specialisation == { };
            message = "nixosAsahi: specialisations are not in the image's ESP (lib/make-esp-tree.nix writes generation 1 only); build the image without them and add them after installing.";
          }
          {
            assertion = sdb.extraEfiDrivers == { };
            message = "nixosAsahi: boot.loader.systemd-boot.extraEfiDrivers are not in the image's ESP; add them after installing.";
          }
          {
            assertion = !haveAsahiModule || sdb.extraFiles ? "m1n1/boot.bin";
            message = "nixosAsahi: the image has no m1n1/boot.bin, which the Asahi installer's entry chainloads: set hardware.asahi.enable = true.";
          }
        ];

        fileSystems = helpers.efiMounts {
          fs = cfg.fsType;
          inherit rootDevice espDevice;
          # The installer grew the partition: stage 1 grows ext4 into it
          # (btrfs: nixos-asahi-grow-root on first boot).
          autoResize = cfg.fsType == "ext4";
        };

        boot.loader.systemd-boot.enable = true;
        # NixOS itself keeps installing them after the image (see the option).
        boot.loader.systemd-boot.extraFiles = cfg.extraEspFiles;
        boot.loader.efi.canTouchEfiVariables = lib.mkDefault false;
        boot.loader.grub.enable = lib.mkDefault false;
        boot.supportedFilesystems = [
          cfg.fsType
          "vfat"
        ];

        system.build = {
          asahiEspTree = built.espTree;
          # The root tree as a store path, for inspection: asahiImage stages
          # the same tree in its own build (lib/make-disk-image.nix).
          asahiRootTree = built.rootTree;
          asahiImage = built.image;
          asahiPackage = built.package;
        };
      }
      (lib.optionalAttrs haveAsahiModule {
        # Explicitly: nixos-apple-silicon warns when it is left to its
        # default, which it announced will become false.
        hardware.asahi.enable = lib.mkDefault true;
        # No firmware exists at build time; loadVendorFirmware brings it in
        # at boot, and /etc/nixos builds it in once the first boot copied it.
        # Nor may the build host's /boot/vendorfw (the option's default) leak in.
        hardware.asahi.extractPeripheralFirmware = lib.mkDefault false;
        hardware.asahi.peripheralFirmwareDirectory = lib.mkDefault null;
      })
    ]
  );
}
