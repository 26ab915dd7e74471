# The flake inputs the evaluation harness hands to this project's flake and
# to the template's: nixpkgs is the REAL nixpkgs lib (vendored, pinned) with
# lib.nixosSystem and legacyPackages from the NixOS fixture
# (tests/nix/nixos-fixture: nixpkgs' option declarations, recording
# packages); nixos-apple-silicon is the REAL flake (vendored). Nothing here
# fetches anything.
{ vendor }:
let
  realLib = import (vendor + "/nixpkgs-lib/lib");
  # Debian bookworm's Nix (2.8) predates builtins.readFileType (2.14),
  # which lib.fileset (package.nix) reads through lib.filesystem.pathType:
  # stand in for it as lib did before.
  lib =
    if builtins ? readFileType then
      realLib
    else
      realLib.extend (
        _final: prev: {
          filesystem = prev.filesystem // {
            pathType =
              path: if dirOf path == path then "directory" else (builtins.readDir (dirOf path)).${baseNameOf path};
          };
        }
      );
  ownLock = builtins.fromJSON (builtins.readFile ../../../flake.lock);
  # What a flake input carries besides its outputs, as locked.
  lockedAs = node: {
    inherit (ownLock.nodes.${node}.locked) rev narHash lastModified;
  };
  pkgsFor =
    system:
    import ../nixos-fixture/pkgs.nix {
      inherit lib;
      hostPlatform = lib.systems.elaborate system;
    };
  nixosSystem = import ../nixos-fixture/eval-config.nix { inherit lib; };

  nixpkgs = lockedAs "nixpkgs" // {
    outPath = vendor + "/nixpkgs-lib";
    lib = lib // {
      inherit nixosSystem;
    };
    legacyPackages = lib.genAttrs [
      "x86_64-linux"
      "aarch64-linux"
      "aarch64-darwin"
    ] pkgsFor;
  };

  # A flake's outputs with `self` tied in, as Nix passes it.
  callFlake =
    src: extra: inputs:
    let
      flake = import (src + "/flake.nix");
      self =
        flake.outputs (inputs // { inherit self; })
        // extra
        // {
          outPath = src;
          inherit (flake) description;
          _type = "flake";
        };
    in
    self;

  nixos-apple-silicon = callFlake (vendor + "/nixos-apple-silicon") (lockedAs "nixos-apple-silicon") {
    inherit nixpkgs;
    flake-compat = { };
  };

  nixos-image-tools = callFlake ../../.. { } { inherit nixpkgs nixos-apple-silicon; };
in
{
  inherit
    lib
    nixpkgs
    nixos-apple-silicon
    nixos-image-tools
    callFlake
    nixosSystem
    ;
}
