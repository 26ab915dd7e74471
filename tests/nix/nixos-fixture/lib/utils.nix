# TEST FIXTURE -- NOT NIXPKGS.
# From nixpkgs nixos/lib/utils.nix (the `utils` module argument): only the
# functions the fixture's option modules use, with the definitions there.
{ lib, config, pkgs }:
let
  inherit (lib) any elem hasPrefix hasSuffix optionalString;
in
rec {
  # Check whenever fileSystem is needed for boot.
  pathsNeededForBoot = [
    "/"
    "/nix"
    "/nix/store"
    "/var"
    "/var/log"
    "/var/lib"
    "/var/lib/nixos"
    "/etc"
    "/usr"
  ];
  fsNeededForBoot = fs: fs.neededForBoot || elem fs.mountPoint pathsNeededForBoot;

  # Check whenever `b` depends on `a` as a fileSystem
  fsBefore =
    a: b:
    let
      normalisePath = path: "${path}${optionalString (!(hasSuffix "/" path)) "/"}";
      normalise =
        mount:
        mount
        // {
          device = normalisePath (toString mount.device);
          mountPoint = normalisePath mount.mountPoint;
          depends = map normalisePath mount.depends;
        };
      a' = normalise a;
      b' = normalise b;
    in
    hasPrefix a'.mountPoint b'.device
    || hasPrefix a'.mountPoint b'.mountPoint
    || any (hasPrefix a'.mountPoint) b'.depends;
}
