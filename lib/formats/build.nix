# system.build.image of modules/image.nix: the chosen format's build, with
# its base format's image (qcow2: raw-efi) built the same way.
# tests/nix/formats.nix calls it with a stand-in configuration.
{ config, pkgs }:
let
  formats = import ./.;
  common = import ./common.nix { inherit config pkgs; };
  build =
    name:
    let
      f = formats.${name};
    in
    f.build {
      inherit config pkgs common;
      base = if f ? base then build f.base else null;
    };
in
build config.nixosImage.format
