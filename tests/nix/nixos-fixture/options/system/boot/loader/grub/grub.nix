# From nixpkgs nixos/modules/system/boot/loader/grub/grub.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only the options this project and
# nixos-apple-silicon set or read, with their types and defaults, the
# devices definition and the assertions about them (from memory of that
# file where the stored copy was older). Setting any other grub option is an
# error here. Simplified: installBootLoader is a fixture script.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkIf
    mkOption
    optional
    types
    ;
  cfg = config.boot.loader.grub;
in
{
  options.boot.loader.grub = {
    enable = mkOption {
      default = !config.boot.isContainer;
      defaultText = literalExpression "!config.boot.isContainer";
      type = types.bool;
      description = "Whether to enable the GNU GRUB boot loader.";
    };

    device = mkOption {
      default = "";
      example = "/dev/disk/by-id/wwn-0x500001234567890a";
      type = types.str;
      description = "The device on which the GRUB boot loader will be installed (\"nodev\": none, EFI only).";
    };

    devices = mkOption {
      default = [ ];
      example = [ "/dev/disk/by-id/wwn-0x500001234567890a" ];
      type = types.listOf types.str;
      description = "The devices on which the boot loader, GRUB, will be installed.";
    };

    efiSupport = mkOption {
      default = false;
      type = types.bool;
      description = "Whether GRUB should be built with EFI support.";
    };

    efiInstallAsRemovable = mkOption {
      default = false;
      type = types.bool;
      description = "Whether to invoke `grub-install` with `--removable`.";
    };

    extraFiles = mkOption {
      type = types.attrsOf types.path;
      default = { };
      example = literalExpression ''
        { "memtest.bin" = "''${pkgs.memtest86plus}/memtest.bin"; }
      '';
      description = "A set of files to be copied to {file}`/boot`.";
    };
  };

  config = mkIf cfg.enable {
    boot.loader.grub.devices = optional (cfg.device != "") cfg.device;

    assertions = [
      {
        assertion = cfg.devices != [ ];
        message = "You must set the option ‘boot.loader.grub.devices’ or 'boot.loader.grub.mirroredBoots' to make the system bootable.";
      }
      {
        assertion = cfg.efiInstallAsRemovable -> cfg.efiSupport;
        message = "If you wish to to use boot.loader.grub.efiInstallAsRemovable, then turn on boot.loader.grub.efiSupport";
      }
      {
        assertion = cfg.efiInstallAsRemovable -> !config.boot.loader.efi.canTouchEfiVariables;
        message = "If you wish to to use boot.loader.grub.efiInstallAsRemovable, then turn off boot.loader.efi.canTouchEfiVariables";
      }
    ];

    system.build.installBootLoader = pkgs.writeScript "install-grub.sh" ''
      #!${pkgs.runtimeShell}
      # nixos-fixture: stands in for install-grub.pl
      # devices=${lib.concatStringsSep "," cfg.devices} efiSupport=${lib.boolToString cfg.efiSupport}
      ${lib.concatStrings (lib.mapAttrsToList (n: v: "# extraFile ${n} ${v}\n") cfg.extraFiles)}
    '';
    system.boot.loader.id = "grub";
  };
}
