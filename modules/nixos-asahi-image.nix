# The Asahi installer image of a NixOS configuration, as options. With
# `nixosAsahi.enable` the system mounts / by label and /boot by the ESP
# volume id the installer entry carries, boots with systemd-boot, finishes
# its installation on first boot, and exposes:
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
  pure = import ../lib/pure.nix;
  cfg = config.nixosAsahi;
  inherit (lib) mkOption mkIf types;
  ids = {
    inherit (cfg) name version;
    fs = cfg.fsType;
  };
  espUuid = pure.espUuid ids;
  haveAsahiModule = options ? hardware && options.hardware ? asahi;
  marker = "/var/lib/nixos-asahi/first-boot";
  built = import ../lib/from-nixos.nix {
    inherit config;
    inherit (pkgs) buildPackages;
    nixos-image-tools = cfg.toolsPackage;
  };
in
{
  options.nixosAsahi = {
    enable = mkOption {
      type = types.bool;
      default = false;
      description = "Lay the system out as an Asahi installer image (mounts, boot loader, first boot) and expose system.build.asahiImage / asahiPackage.";
    };
    fsType = mkOption {
      type = types.enum [
        "btrfs"
        "ext4"
      ];
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
      default = pure.crateVersion ../.;
      defaultText = "this project's version (Cargo.toml)";
      description = "Package version (a new version gives a new ESP volume id and a new, immutable URL).";
    };
    displayName = mkOption {
      type = types.nullOr types.str;
      default = null;
      description = "Menu text in the installer; null lets gen-installer-data choose (NixOS <release> (<name>-<version>-<fs>)).";
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
      default = pure.packageBaseName ids;
      defaultText = "<name>-<version>-<fsType>";
      description = "Seed of the image's GUIDs and filesystem UUIDs.";
    };
    epoch = mkOption {
      type = types.int;
      default = 315532800;
      description = "Timestamp (seconds since 1970) given to every file in the image.";
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
    extraStorePaths = mkOption {
      type = types.listOf types.package;
      default = [ ];
      description = "More store paths to copy into the image and register.";
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
      defaultText = "with etcNixosSource unset, a starter flake importing this project's module, with a flake.lock (lib/starter-config.nix); else nothing";
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
        default = "github:nix-community/nixos-image-tools";
        description = "The starter /etc/nixos flake's nixos-image-tools input.";
      };
      locks = mkOption {
        type = types.attrsOf (types.nullOr types.raw);
        default = { };
        defaultText = "from nixosModules.default: the inputs this flake was evaluated with";
        description = ''
          What the starter flake.lock pins the inputs `nixpkgs`,
          `nixos-apple-silicon` and `nixos-image-tools` to: each null or
          `nixos-image-tools.lib.inputLock <flake input>` (rev, narHash,
          lastModified, the input's own flake.lock). This flake's
          nixosModules.default sets them from the inputs it was evaluated
          with, so the Mac rebuilds with exactly those. Inputs left out, null
          (e.g. a dirty tree without a rev) or with URLs other than
          `github:owner/repo[/ref]` are locked by Nix on first use.
        '';
      };
    };
    loadVendorFirmware = mkOption {
      type = types.bool;
      default = !(haveAsahiModule && config.hardware.asahi.extractPeripheralFirmware);
      defaultText = "true unless the Apple Silicon module builds the firmware into the system";
      description = "At each boot, unpack the Mac's firmware (vendorfw/firmware.cpio, put on the ESP by the installer) into /lib/firmware.";
    };
    firstBootPassword = mkOption {
      type = types.bool;
      default = config.users.mutableUsers;
      defaultText = "config.users.mutableUsers";
      description = "On first boot, ask on tty1 for root's password before any login prompt (the image ships no password hash).";
    };
    toolsPackage = mkOption {
      type = types.package;
      default = pkgs.buildPackages.nixos-image-tools or (pkgs.buildPackages.callPackage ../package.nix { });
      defaultText = "nixos-image-tools for the build platform";
      description = "The nixos-image-tools package whose executables build the image.";
    };
    volumeId = mkOption {
      type = types.str;
      readOnly = true;
      default = pure.volumeId ids;
      description = "The ESP's FAT volume id (derived from <name>-<version>-<fsType>).";
    };
  };

  config = mkIf cfg.enable (
    lib.mkMerge [
      {
        fileSystems =
          {
            "/" = {
              device = "/dev/disk/by-label/${pure.rootLabel}";
              fsType = cfg.fsType;
              options = lib.optional (cfg.fsType == "btrfs") "subvol=@";
            };
            "/boot" = {
              device = "/dev/disk/by-uuid/${espUuid}";
              fsType = "vfat";
              # What nixos-generate-config records for an ESP mounted with
              # umask=077, as the NixOS manual's installation steps mount it:
              # with 0022 bootctl warns that the random seed file's mount
              # point is world accessible.
              options = [
                "fmask=0077"
                "dmask=0077"
              ];
            };
          }
          // lib.optionalAttrs (cfg.fsType == "btrfs") {
            "/home" = {
              device = "/dev/disk/by-label/${pure.rootLabel}";
              fsType = "btrfs";
              options = [ "subvol=@home" ];
            };
            "/nix" = {
              device = "/dev/disk/by-label/${pure.rootLabel}";
              fsType = "btrfs";
              options = [ "subvol=@nix" ];
              neededForBoot = true;
            };
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

        # Finish the installation before systemd starts (as sd-image does).
        boot.postBootCommands = ''
          if [ -f /nix-path-registration ]; then
            ${config.nix.package.out}/bin/nix-store --load-db < /nix-path-registration \
              && ${config.nix.package.out}/bin/nix-env -p /nix/var/nix/profiles/system --set /run/current-system \
              && rm -f /nix-path-registration
            touch /etc/NIXOS
            # The installer grew the partition; grow the filesystem into it.
            ${
              if cfg.fsType == "btrfs" then
                "${pkgs.btrfs-progs}/bin/btrfs filesystem resize max / || true"
              else
                ''${pkgs.e2fsprogs}/bin/resize2fs "$(${pkgs.util-linux}/bin/findmnt -n -o SOURCE /)" || true''
            }
          fi
        ''
        + lib.optionalString cfg.loadVendorFirmware ''
          # The Mac's firmware: the installer put vendorfw/firmware.cpio on the
          # ESP. /boot is not mounted yet. The boot chain names the ESP it
          # booted from in the device tree (m1n1's
          # chosen.asahi,efi-system-partition, set by the installer to the
          # ESP's partition UUID, as nixos-apple-silicon's installer ISO
          # reads it); that holds even when two ESPs share a volume id.
          # Otherwise look the ESP up by its volume id.
          esp=""
          dt_esp=/proc/device-tree/chosen/asahi,efi-system-partition
          if [ -r "$dt_esp" ]; then
            partuuid=$(tr -d '\000' < "$dt_esp")
            [ -n "$partuuid" ] && esp=$(${pkgs.util-linux}/bin/blkid -c /dev/null -l -o device -t PARTUUID="$partuuid" || true)
          fi
          if [ -z "$esp" ]; then
            esp=$(${pkgs.util-linux}/bin/blkid -c /dev/null -U ${espUuid} || true)
          fi
          if [ -n "$esp" ]; then
            mkdir -p /run/nixos-asahi/esp
            if mount -t vfat -o ro "$esp" /run/nixos-asahi/esp; then
              cpio_file=/run/nixos-asahi/esp/vendorfw/firmware.cpio
              if [ -f "$cpio_file" ]; then
                rm -rf /run/nixos-asahi/fw /lib/firmware
                mkdir -p /run/nixos-asahi/fw /lib/firmware
                (cd /run/nixos-asahi/fw && ${pkgs.cpio}/bin/cpio -id --quiet --no-absolute-filenames < "$cpio_file") \
                  && cp -a /run/nixos-asahi/fw/vendorfw/. /lib/firmware/
                rm -rf /run/nixos-asahi/fw
                # Let /etc/nixos build it into the system from now on.
                if [ -f ${marker} ] && [ -d /etc/nixos ]; then
                  mkdir -p /etc/nixos/firmware
                  cp "$cpio_file" /etc/nixos/firmware/firmware.cpio
                fi
              fi
              umount /run/nixos-asahi/esp
            fi
          fi
        '';

        systemd.services.nixos-asahi-first-boot = {
          description = "Set root's password on first boot";
          wantedBy = [ "multi-user.target" ];
          before = [
            "getty@tty1.service"
            "systemd-user-sessions.service"
            "display-manager.service"
          ];
          after = [ "systemd-vconsole-setup.service" ];
          unitConfig.ConditionPathExists = marker;
          path = [ pkgs.shadow ];
          serviceConfig = {
            Type = "oneshot";
            StandardInput = "tty";
            StandardOutput = "tty";
            TTYPath = "/dev/tty1";
            TTYReset = true;
            TTYVHangup = true;
          };
          script =
            lib.optionalString cfg.firstBootPassword ''
              echo
              echo "NixOS is installed. Choose a password for the user root."
              until passwd root; do echo "Please try again."; done
            ''
            + ''
              rm -f ${marker}
            '';
        };

        system.stateVersion = lib.mkDefault config.system.nixos.release;

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
        # No firmware exists at build time; loadVendorFirmware brings it in
        # at boot, and /etc/nixos builds it in once the first boot copied it.
        # Nor may the build host's /boot/vendorfw (the option's default) leak in.
        hardware.asahi.extractPeripheralFirmware = lib.mkDefault false;
        hardware.asahi.peripheralFirmwareDirectory = lib.mkDefault null;
      })
    ]
  );
}
