# One module for every image format of lib/formats/: `nixosImage.format`
# picks one, whose file adds its mounts, boot loader and first-boot needs
# and builds system.build.image. Every image registers its store and sets
# the system profile on first boot (./first-boot.nix), grows its root
# partition and filesystem to the disk, and can carry /etc/nixos. The Asahi
# installer package is the format "asahi" (./nixos-asahi-image.nix,
# configured by nixosAsahi.*).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  formats = import ../lib/formats;
  helpers = import ../lib/helpers;
  cfg = config.nixosImage;
  inherit (lib) mkOption types;
  chain = name: [ name ] ++ lib.optionals (formats.${name} ? base) (chain formats.${name}.base);
in
{
  imports = [ ./nixos-asahi-image.nix ] ++ map (f: f.module) (builtins.attrValues formats);

  options.nixosImage = import ./shared-options.nix { inherit lib pkgs; } // {
    format = mkOption {
      type = types.nullOr (types.enum (builtins.attrNames formats));
      default = null;
      description = "The image system.build.image builds (lib/formats/), or null for none.";
    };
    formats = mkOption {
      type = types.listOf types.str;
      internal = true;
      readOnly = true;
      default = if cfg.format == null then [ ] else chain cfg.format;
      defaultText = lib.literalMD "the format and the formats it builds on";
      description = "The formats whose modules are active.";
    };
    fsType = mkOption {
      type = types.enum helpers.fsTypes;
      default = "ext4";
      description = "Root filesystem (raw-efi, qcow2; sd-card is ext4). btrfs uses subvolumes @ (/), @home and @nix.";
    };
    sectorSize = mkOption {
      type = types.enum [
        512
        4096
      ];
      default = 512;
      description = "Logical sector size of a GPT image (sd-card: 512).";
    };
    espSize = mkOption {
      type = types.str;
      default = "512MiB";
      description = "ESP size of a GPT image.";
    };
    name = mkOption {
      type = types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "Names the image's derivations and, with format and fsType, seeds its identifiers.";
    };
    seed = mkOption {
      type = types.str;
      default = "${cfg.name}-${config.system.nixos.release}-${toString cfg.format}-${cfg.fsType}";
      defaultText = lib.literalExpression ''"''${name}-''${config.system.nixos.release}-''${format}-''${fsType}"'';
      description = "Seed of the image's GUIDs, filesystem UUIDs and volume ids.";
    };
    compress = mkOption {
      type = types.bool;
      default = false;
      defaultText = lib.literalMD "`true` for sd-card (as sd-image), else `false`";
      description = "sd-card: disk.img.zst (zstd); qcow2: a compressed qcow2.";
    };
    etcNixosSource = mkOption {
      type = types.nullOr types.path;
      default = null;
      example = lib.literalExpression "self.outPath # your flake's own source";
      description = "A directory copied as /etc/nixos, e.g. the flake that defines this configuration.";
    };
    etcNixos = mkOption {
      type = types.attrsOf types.str;
      default = { };
      description = "Files of /etc/nixos in the image, by name, written over etcNixosSource.";
    };
  };

  config = lib.mkIf (cfg.format != null) (
    lib.mkMerge [
      { system.build.image = import ../lib/formats/build.nix { inherit config pkgs; }; }
      (lib.mkIf (cfg.format != "asahi") {
        # First boot grows the partition to the disk (growpart), then the
        # filesystem (autoResize: systemd-growfs).
        boot.growPartition = true;
        # Headless machines: a password prompt on tty1 would hold back
        # logins (systemd-user-sessions), SSH too, until someone answers.
        nixosAsahi.firstBootPassword = lib.mkDefault false;
      })
    ]
  );
}
