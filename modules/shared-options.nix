# Options nixosAsahi.* (./nixos-asahi-image.nix) and nixosImage.*
# (./image.nix) both declare, declared once.
{ lib, pkgs }:
let
  inherit (lib) mkOption types;
in
{
  epoch = mkOption {
    type = types.int;
    default = (import ../lib/helpers).dosEpoch;
    defaultText = lib.literalMD "315532800 (1980-01-01, the earliest FAT time)";
    description = "Timestamp (seconds since 1970) given to every file in the image.";
  };
  extraStorePaths = mkOption {
    type = types.listOf types.pathInStore;
    default = [ ];
    example = lib.literalExpression "[ self.outPath pkgs.hello ]";
    description = "More store paths (packages, flake sources) to copy into the image and register.";
  };
  toolsPackage = mkOption {
    type = types.package;
    default = pkgs.buildPackages.nixos-image-tools or (pkgs.buildPackages.callPackage ../package.nix { });
    defaultText = lib.literalMD "nixos-image-tools for the build platform";
    description = "The nixos-image-tools package whose executables build the image.";
  };
}
