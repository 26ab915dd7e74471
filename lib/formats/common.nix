# What every format builds from, for an evaluated configuration with
# modules/image.nix: the builders (bound to the build platform), the root
# staging arguments, names.
{ config, pkgs }:
let
  cfg = config.nixosImage;
  b = import ../builders.nix {
    pkgs = pkgs.buildPackages;
    nixos-image-tools = cfg.toolsPackage;
  };
in
{
  inherit b;
  inherit (cfg) seed epoch;
  # "nixos-raw-efi-ext4": derivation names.
  baseName = "${cfg.name}-${cfg.format}-${cfg.fsType}";
  # stage-root.nix's arguments (extraTrees added by formats that need them).
  rootArgs = {
    fs = cfg.fsType;
    toplevel = config.system.build.toplevel;
    inherit (cfg)
      etcNixos
      etcNixosSource
      extraStorePaths
      epoch
      ;
  };
  # zstd, as sd-image compresses (one thread: the same bytes on any builder).
  zstd = "${pkgs.buildPackages.zstd}/bin/zstd";
}
