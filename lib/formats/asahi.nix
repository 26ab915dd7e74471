# asahi: the Asahi Linux installer package (zip + installer_data.json) of
# modules/nixos-asahi-image.nix, configured by its nixosAsahi.* options.
# lib.mkImage adds the flake's nixosModules.default (Apple Silicon support).
{
  module =
    { config, lib, ... }:
    {
      config = lib.mkIf (builtins.elem "asahi" config.nixosImage.formats) {
        nixosAsahi.enable = true;
      };
    };

  build = { config, ... }: config.system.build.asahiPackage;
}
