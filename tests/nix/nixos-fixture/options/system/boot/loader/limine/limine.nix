# From nixpkgs nixos/modules/system/boot/loader/limine/limine.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Only enable and additionalFiles.
{ lib, ... }:
{
  options.boot.loader.limine = {
    enable = lib.mkEnableOption "the Limine Bootloader";

    additionalFiles = lib.mkOption {
      default = { };
      type = lib.types.attrsOf lib.types.path;
      example = lib.literalExpression ''
        { "efi/memtest86/memtest86.efi" = "''${pkgs.memtest86-efi}/BOOTX64.efi"; }
      '';
      description = "A set of files to be copied to {file}`/boot`.";
    };
  };
}
