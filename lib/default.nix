# System-independent library of this flake (`nixos-image-tools.lib`).
#   helpers (helpers/, builtins only): volumeId, espUuid, zipName, diskLayout, installerEntryArgs, ...
#   withPkgs pkgs: the builders bound to a package set (builders.nix)
#     { mkEspTree, mkRootStaging, mkRootTree, mkDiskImage, mkInstallerPackage }
#   mkAsahiPackage / mkAsahiImage { nixosConfiguration, settings ? { } }:
#     package a downstream nixosConfigurations.<x> with one call.
#   mkImage { nixosConfiguration, format, settings ? { } }: the image of
#     format asahi, raw-efi, sd-card or qcow2 (lib/formats/); settings are
#     nixosImage.* values (for asahi, nixosAsahi.* as in mkAsahiPackage).
#   formats: the formats' names.
{
  # The module that lays a system out as an installer image (the flake passes
  # nixosModules.default, which also brings Apple Silicon support).
  nixosModule ? ../modules/nixos-asahi-image.nix,
}:

let
  helpers = import ./helpers;

  withPkgs = pkgs: import ./builders.nix { inherit pkgs; };

  # The configuration, extended with the image module and enabled.
  # `settings` (nixosAsahi.* values) take priority 90: above the
  # configuration's own plain definitions (100; a plain
  # `nixosAsahi.version = "2.0.0"` beside the template's "1.0.0" would
  # otherwise be a conflicting definition of a str option), below mkForce (50).
  asahiSystem =
    {
      nixosConfiguration,
      settings ? { },
    }:
    nixosConfiguration.extendModules {
      modules = [
        nixosModule
        { nixosAsahi.enable = true; }
        (prio90 "nixosAsahi" settings)
      ];
    };
  prio90 =
    attr: settings:
    { lib, ... }:
    {
      ${attr} = lib.mapAttrs (_: lib.mkOverride 90) settings;
    };

  formats = import ./formats;
  # The configuration with modules/image.nix and the format chosen.
  imageSystem =
    {
      nixosConfiguration,
      format,
      settings ? { },
    }:
    if format == "asahi" then
      (asahiSystem { inherit nixosConfiguration settings; }).extendModules {
        modules = [
          ../modules/image.nix
          { nixosImage.format = "asahi"; }
        ];
      }
    else if formats ? ${format} then
      nixosConfiguration.extendModules {
        modules = [
          ../modules/image.nix
          { nixosImage.format = format; }
          (prio90 "nixosImage" settings)
        ];
      }
    else
      throw "nixos-image-tools: mkImage: format must be one of ${builtins.concatStringsSep ", " (builtins.attrNames formats)}, not ${format}";
in
helpers
// {
  inherit withPkgs asahiSystem imageSystem;
  formats = builtins.attrNames formats;
  mkImage = args: (imageSystem args).config.system.build.image;
  mkAsahiPackage = args: (asahiSystem args).config.system.build.asahiPackage;
  mkAsahiImage = args: (asahiSystem args).config.system.build.asahiImage;
}
